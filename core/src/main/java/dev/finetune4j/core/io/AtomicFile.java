package dev.finetune4j.core.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * Writes one file under a temporary name in its folder, forces it to disk and renames it over the target, so that
 * readers see either the old file or the complete new one, never half of one; a failed write deletes the temporary
 * file and leaves the target as it was. Used for safetensors files and GGUF exports. Stateless and thread-safe;
 * two writers of the same target at once: the last rename wins.
 */
public final class AtomicFile {
    private AtomicFile() {
    }

    /**
     * Writes the content of a file through its channel.
     */
    @FunctionalInterface
    public interface Content {
        /**
         * Writes the whole content from position 0.
         *
         * @param channel the temporary file, open for writing
         * @throws IOException when writing fails
         */
        void writeTo(FileChannel channel) throws IOException;
    }

    /**
     * Writes {@code file} atomically. Its folder must exist.
     *
     * @param file    the target file; replaced when it exists
     * @param content writes the bytes
     * @throws IOException when writing or renaming fails; the target is then left as it was and no temporary file
     *                     remains
     */
    public static void write(Path file, Content content) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = dir.resolve("." + file.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                content.writeTo(ch);
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        AtomicDirectory.syncDirectory(dir);
    }
}
