package dev.finetune4j.data.preference;

import dev.finetune4j.data.format.Format;
import dev.finetune4j.data.format.RecordWriter;
import dev.finetune4j.data.format.WrittenFile;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.record.SourceRef;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes preference pairs as JSONL, atomically, in TRL's plain form or in messages form; and unpaired rows (for KTO)
 * in TRL's unpaired form.
 */
public final class PreferenceExport {
    /** Which shape each line has. */
    public enum Shape {
        /** {@code prompt}, {@code chosen} and {@code rejected} as plain strings ({@link PreferencePair#toTrl()}). */
        TRL,
        /** {@code chosen} and {@code rejected} as message lists ({@link PreferencePair#toMessages()}). */
        MESSAGES
    }

    private PreferenceExport() {
    }

    /**
     * Writes {@code pairs} to {@code file}; each line's {@code _meta.source} names the pair's index.
     *
     * @param pairs the pairs to write
     * @param file the JSONL file, replaced when it exists
     * @param shape the shape of each line
     * @return the written file's name, record count, size and SHA-256
     * @throws IOException when the file cannot be written
     */
    public static WrittenFile write(List<PreferencePair> pairs, Path file, Shape shape) throws IOException {
        try (RecordWriter w = new RecordWriter(file, Format.JSONL)) {
            for (int i = 0; i < pairs.size(); i++) {
                w.write(record(pairs.get(i), i + 1, shape));
            }
            return w.commit();
        }
    }

    /**
     * The record written for the {@code number}-th pair (1-based), as {@link #write} writes it.
     *
     * @param pair   the pair
     * @param number its 1-based position among the written pairs, its {@code _meta.source}
     * @param shape  the line's shape
     * @return the record
     */
    public static Record record(PreferencePair pair, long number, Shape shape) {
        Map<String, Object> fields = shape == Shape.TRL ? pair.toTrl() : pair.toMessages();
        return Record.of(new SourceRef("feedback", number), fields);
    }

    /**
     * Writes unpaired rows to {@code file} in TRL's unpaired preference form ({@link UnpairedPreference#toTrl()}:
     * {@code prompt}, {@code completion}, {@code label}); each line's {@code _meta.source} names the row's index.
     *
     * @param rows the rows to write
     * @param file the JSONL file, replaced when it exists
     * @return the written file's name, record count, size and SHA-256
     * @throws IOException when the file cannot be written
     */
    public static WrittenFile writeUnpaired(List<UnpairedPreference> rows, Path file) throws IOException {
        try (RecordWriter w = new RecordWriter(file, Format.JSONL)) {
            for (int i = 0; i < rows.size(); i++) {
                w.write(Record.of(new SourceRef("feedback", i + 1), rows.get(i).toTrl()));
            }
            return w.commit();
        }
    }
}
