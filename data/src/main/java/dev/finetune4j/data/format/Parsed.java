package dev.finetune4j.data.format;

import dev.finetune4j.data.record.Record;

/** What a reader yields for each input item: a record or a quarantined line. */
public sealed interface Parsed {
    /**
     * A well-formed record.
     *
     * @param record the record read
     */
    record Ok(Record record) implements Parsed {
    }

    /**
     * Malformed input, to quarantine.
     *
     * @param badLine the line's file, number, reason and raw text
     */
    record Bad(BadLine badLine) implements Parsed {
    }
}
