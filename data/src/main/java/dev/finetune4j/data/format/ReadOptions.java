package dev.finetune4j.data.format;

import dev.finetune4j.data.record.Schema;

import java.io.Serializable;

/**
 * How inputs are read.
 *
 * @param maxLineBytes lines (JSONL, CSV rows) or array elements (JSON) longer than this many bytes are
 *                     quarantined as {@code line too long}
 * @param schema       the schema every record must satisfy, or {@code null} to detect it per record
 * @param trustMeta    whether the input was written by this library (a pipeline's output), so that a record's
 *                     {@code _meta} (its original source, near-duplicate cluster...) is kept; otherwise an input's
 *                     {@code _meta} is ignored, so that no input can claim another source
 */
public record ReadOptions(int maxLineBytes, Schema schema, boolean trustMeta) implements Serializable {
    /** 4 MiB per line, schema detected per record, {@code _meta} ignored. */
    public static final ReadOptions DEFAULTS = new ReadOptions(4 << 20, null, false);

    /** Checks that {@code maxLineBytes} is at least 16. */
    public ReadOptions {
        if (maxLineBytes < 16) {
            throw new IllegalArgumentException("maxLineBytes must be at least 16, found " + maxLineBytes);
        }
    }
}
