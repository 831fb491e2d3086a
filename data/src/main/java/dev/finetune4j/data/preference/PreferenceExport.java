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

/** Writes preference pairs as JSONL, atomically, in TRL's plain form or in messages form. */
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
                PreferencePair p = pairs.get(i);
                Map<String, Object> fields = shape == Shape.TRL ? p.toTrl() : p.toMessages();
                w.write(Record.of(new SourceRef("feedback", i + 1), fields));
            }
            return w.commit();
        }
    }
}
