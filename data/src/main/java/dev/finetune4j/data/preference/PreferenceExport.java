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
    public enum Shape { TRL, MESSAGES }

    private PreferenceExport() {
    }

    /** Writes {@code pairs} to {@code file}; each line's {@code _meta.source} names the pair's index. */
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
