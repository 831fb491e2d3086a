package dev.finetune4j.core.io;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file (or checkpoint folder) that is corrupt or not what it claims to be. */
public class SafetensorsFormatException extends IOException {
    private final Path file;

    public SafetensorsFormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    /** The offending file. */
    public Path file() {
        return file;
    }
}
