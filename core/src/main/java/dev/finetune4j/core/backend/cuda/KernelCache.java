package dev.finetune4j.core.backend.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;

/**
 * Compiled kernels on disk ({@code ~/.cache/finetune4j/cuda/} by default), one cubin per family, keyed by a hash
 * of the sources, the architecture, the compiler options and the NVRTC version, so that a changed kernel, another
 * card or another NVRTC compiles afresh. An unwritable cache only costs a compilation per run.
 */
final class KernelCache {
    private final Path dir;

    KernelCache(Path dir) {
        this.dir = dir;
    }

    /** The default folder: {@code $XDG_CACHE_HOME/finetune4j/cuda} or {@code ~/.cache/finetune4j/cuda}. */
    static Path defaultDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("finetune4j").resolve("cuda");
    }

    /** The hex SHA-256 of everything a cubin depends on. */
    static String key(String source, String header, String architecture, List<String> options, String nvrtcVersion) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (String part : List.of(source, header, architecture, String.join(" ", options), nvrtcVersion)) {
                byte[] bytes = part.getBytes(StandardCharsets.UTF_8);
                sha.update(HexFormat.of().parseHex(String.format("%08x", bytes.length)));
                sha.update(bytes);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /** The cached cubin of {@code family} under {@code key}, or {@code compile}'s result, then stored. */
    byte[] cubin(String family, String key, Supplier<byte[]> compile) {
        Path file = dir.resolve(family + "-" + key + ".cubin");
        try {
            if (Files.isRegularFile(file)) {
                return Files.readAllBytes(file);
            }
        } catch (IOException unreadable) {
            // compile it again below
        }
        byte[] image = compile.get();
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, family, ".tmp");
            Files.write(tmp, image);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UnsupportedOperationException notWritable) {
            // NOTE: a read-only home only costs a compilation per run; the kernels still work.
        }
        return image;
    }
}
