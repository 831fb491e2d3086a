package dev.finetune4j.core.backend.cuda;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Finds the command-line tools (nvcc, cpp) that some CPU-only checks of the CUDA backend use when present. */
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
}
