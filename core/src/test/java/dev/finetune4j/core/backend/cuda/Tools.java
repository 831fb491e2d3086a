package dev.finetune4j.core.backend.cuda;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Finds the command-line tools (nvcc, cpp) that some CPU-only checks of the CUDA backend use when present, and runs
 * nvcc over a kernel family.
 */
final class Tools {
    private Tools() {
    }

    /** The executable {@code tool} on the PATH, if any. */
    static Optional<Path> onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(d, tool);
            if (!d.isEmpty() && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** What nvcc printed over a family, and its exit code. */
    record NvccRun(int exitCode, String log) {
    }

    /**
     * Writes {@code family}.cu and the headers it includes into {@code dir} and compiles the family with {@code nvcc} and
     * {@code args} (the output file among them), for sm_90 in C++17 as NVRTC compiles it.
     */
    static NvccRun nvcc(Path nvcc, Path dir, String family, String... args) throws IOException, InterruptedException {
        KernelSources.Family sources = KernelSources.family(family);
        for (var header : sources.headers().entrySet()) {
            Files.writeString(dir.resolve(header.getKey()), header.getValue());
        }
        Path source = Files.writeString(dir.resolve(sources.file()), sources.source());
        List<String> command = new ArrayList<>(List.of(nvcc.toString(), "-arch=sm_90", "--std=c++17"));
        command.addAll(List.of(args));
        command.add(source.toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("nvcc did not finish on " + family + ".cu");
        }
        return new NvccRun(p.exitValue(), log);
    }
}
