package dev.finetune4j.data.record;

import java.io.Serializable;
import java.util.Objects;

/**
 * Where a record came from: the input file's name and the 1-based line on which the record starts.
 *
 * @param file the input file name (not the full path, so that manifests do not leak directory layouts)
 * @param line the 1-based line number, or 0 when the record was produced by a step (e.g. augmentation)
 */
public record SourceRef(String file, long line) implements Serializable {
    /** Checks that the file is present and the line is not negative. */
    public SourceRef {
        Objects.requireNonNull(file, "file");
        if (line < 0) {
            throw new IllegalArgumentException("line must be >= 0, found " + line);
        }
    }

    /**
     * Parses the {@code file:line} form written by {@link #toString()}.
     *
     * @param text {@code file:line}, split at the last colon
     * @return the reference
     */
    public static SourceRef parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("source reference must look like 'file:line', found '" + text + "'");
        }
        try {
            return new SourceRef(text.substring(0, colon), Long.parseLong(text.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("source reference must end with a line number, found '" + text + "'", e);
        }
    }

    @Override
    public String toString() {
        return file + ":" + line;
    }
}
