package dev.finetune4j.data.format;

import dev.finetune4j.data.record.Schema;

import java.io.Serializable;

/**
 * How inputs are read.
 *
 * @param maxLineBytes lines (JSONL, CSV rows) or array elements (JSON) longer than this many bytes are
 *                     quarantined as {@code line too long}
 * @param schema       the schema every record must satisfy, or {@code null} to detect it per record
 */
public record ReadOptions(int maxLineBytes, Schema schema) implements Serializable {
    /** 4 MiB per line, schema detected per record. */
    public static final ReadOptions DEFAULTS = new ReadOptions(4 << 20, null);

    public ReadOptions {
        if (maxLineBytes < 16) {
            throw new IllegalArgumentException("maxLineBytes must be at least 16, found " + maxLineBytes);
        }
    }
}
