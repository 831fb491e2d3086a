package dev.finetune4j.core.io;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file (or checkpoint folder) that is corrupt or not what it claims to be. */
public class SafetensorsFormatException extends IOException {
    /** The offending file. */
    private final Path file;

    /**
     * An exception with the message {@code file: problem}.
     *
     * @param file the offending file or folder
     * @param problem what is wrong and what to do
     */
    public SafetensorsFormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    /**
     * The offending file.
     *
     * @return its path
     */
    public Path file() {
        return file;
    }
}
