package dev.finetune4j.data.format;

import java.io.Serializable;

/**
 * An input line that could not become a record; it goes to the quarantine file, never silently away.
 *
 * @param file   the input file name
 * @param line   the 1-based line on which the bad input starts
 * @param reason what was wrong, e.g. {@code invalid JSON: ...}, {@code invalid UTF-8 ...}, {@code line too long ...}
 * @param raw    the start of the offending text (invalid bytes replaced by U+FFFD), for a human to inspect
 */
public record BadLine(String file, long line, String reason, String raw) implements Serializable {
    /** How many characters of the raw line are kept in the quarantine file. */
    public static final int RAW_PREVIEW_CHARS = 2_000;

    /** Cuts {@code raw} to {@link #RAW_PREVIEW_CHARS} characters. */
    public BadLine {
        if (raw != null && raw.length() > RAW_PREVIEW_CHARS) {
            raw = raw.substring(0, RAW_PREVIEW_CHARS);
        }
    }

    /**
     * The first word of the reason ({@code invalid JSON}, {@code wrong field types}...), used to count by kind.
     *
     * @return the reason up to its first colon
     */
    public String kind() {
        int colon = reason.indexOf(':');
        return colon < 0 ? reason : reason.substring(0, colon);
    }
}
