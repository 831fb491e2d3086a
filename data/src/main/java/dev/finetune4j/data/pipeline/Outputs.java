package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.format.FileSource;
import dev.finetune4j.data.format.Format;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.format.Parsed;
import dev.finetune4j.data.format.RecordStream;
import dev.finetune4j.data.format.RecordWriter;
import dev.finetune4j.data.format.WrittenFile;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.split.SplitKeys;
import dev.finetune4j.data.split.SplitSpec;
import dev.finetune4j.data.split.StratifiedCuts;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The output side of a run: one file ({@code data}) without a split, one per split otherwise. A stratified split
 * needs every label's positions before it can cut, so its records are spooled to a temporary JSONL file and
 * distributed in a second pass. Not thread-safe.
 */
final class Outputs implements Closeable {
    private final Path dir;
    private final Format format;
    private final SplitSpec spec;
    private final List<RecordWriter> writers = new ArrayList<>();
    private final double[] cumulative;
    private final StratifiedCuts cuts;
    private RecordWriter spool;
    private Path spoolPath;
    private long records;

    Outputs(Path dir, Format format, SplitSpec spec) throws IOException {
        this.dir = dir;
        this.format = format;
        this.spec = spec;
        this.cumulative = spec == null ? null : SplitKeys.cumulative(spec);
        this.cuts = spec != null && spec.stratifyField() != null ? new StratifiedCuts(spec) : null;
        List<String> names = spec == null ? List.of("data") : spec.names();
        for (String name : names) {
            writers.add(new RecordWriter(dir.resolve(name + format.extension()), format));
        }
        if (cuts != null) {
            spoolPath = dir.resolve(".spool.jsonl");
            spool = new RecordWriter(spoolPath, Format.JSONL);
        }
    }

    void write(Record r) throws IOException {
        records++;
        if (spec == null) {
            writers.getFirst().write(r);
        } else if (cuts != null) {
            cuts.add(SplitKeys.label(r, spec), SplitKeys.position(r, spec));
            spool.write(r);
        } else {
            writers.get(SplitKeys.bucket(SplitKeys.position(r, spec), cumulative)).write(r);
        }
    }

    /** Records written so far. */
    long records() {
        return records;
    }

    /** Completes every output (atomically) and describes them. */
    List<WrittenFile> finish() throws IOException {
        if (cuts != null) {
            spool.commit();
            FileSource spooled = Formats.jsonl(spoolPath).maxLineBytes(Integer.MAX_VALUE).trustMeta();
            try (RecordStream in = spooled.open()) {
                for (Parsed p; (p = in.next()) != null; ) {
                    Record r = ((Parsed.Ok) p).record();
                    writers.get(cuts.bucket(SplitKeys.label(r, spec), SplitKeys.position(r, spec))).write(r);
                }
            } finally {
                Files.deleteIfExists(spoolPath);
            }
        }
        List<WrittenFile> files = new ArrayList<>();
        for (RecordWriter w : writers) {
            files.add(w.commit());
        }
        return files;
    }

    @Override
    public void close() throws IOException {
        for (RecordWriter w : writers) {
            w.close();
        }
        if (spool != null) {
            spool.close();
            Files.deleteIfExists(spoolPath);
        }
    }
}
