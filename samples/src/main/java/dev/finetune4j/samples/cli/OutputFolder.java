package dev.finetune4j.samples.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The rule every command that writes a folder follows (train, prepare, merge, export-onnx). */
final class OutputFolder {
    private OutputFolder() {
    }

    /**
     * Refuses to write into an existing, non-empty folder unless {@code overwrite}: a second run must not mix its
     * files with (or silently replace) a first run's. An output that is a file, or lies under one, is refused even
     * with {@code overwrite}, here rather than when the results are saved at the end.
     */
    static void requireFresh(Path dir, boolean overwrite) {
        Path absolute = dir.toAbsolutePath().normalize();
        Path existing = absolute;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing != null && !Files.isDirectory(existing)) {
            throw new BadInputException("output " + absolute + (existing.equals(absolute) ? " is a file" : " lies under "
                    + "the file " + existing) + ", not a folder; choose a folder path (new or empty) for the output");
        }
        if (!overwrite && Files.isDirectory(dir)) {
            try (var entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    throw new BadInputException("output folder " + absolute + " already exists and is not empty; "
                            + "pass --overwrite to replace what is there, or choose another folder");
                }
            } catch (IOException e) {
                throw new BadInputException("cannot read output folder " + absolute + ": " + e.getMessage(), e);
            }
        }
    }
}
