package dev.finetune4j.data.pipeline;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.finetune4j.data.format.Json;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.record.SourceRef;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Records waiting for a {@link Step.Global} step's decisions, one JSON object per line in a temporary file so that
 * the corpus is never held in memory; read back once, in the order written. The file is deleted on
 * {@link #close()}. Not thread-safe.
 *
 * <p>NOTE: not Java serialization, although records are {@code Serializable} (for Spark): a JVM-wide
 * deserialization filter, which hardened services and frameworks such as Helidon install, would reject it.
 */
final class RecordSpool implements Closeable {
    private static final TypeReference<Spooled> SPOOLED = new TypeReference<>() {
    };
    private final Path file;
    private final BufferedWriter out;
    private BufferedReader in;
    private long written;
    private long read;

    /** A record as one line: its id apart from its source, whose {@code file:line} form it need not have. */
    record Spooled(String id, String file, long line, Map<String, Object> fields, Map<String, String> meta) {
    }

    RecordSpool(Path dir) throws IOException {
        this.file = Files.createTempFile(dir, ".spool", ".jsonl");
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
    }

    void write(Record r) throws IOException {
        Json.requireUnicode(r.fields(), r.id() + " (" + r.source() + ")");
        out.write(Json.write(new Spooled(r.id(), r.source().file(), r.source().line(), r.fields(), r.meta())));
        out.write('\n');
        written++;
    }

    /** The next {@code max} records (fewer at the end, none when all were read); the first call ends writing. */
    List<Record> next(int max) throws IOException {
        if (in == null) {
            out.close();
            in = Files.newBufferedReader(file, StandardCharsets.UTF_8);
        }
        List<Record> batch = new ArrayList<>(max);
        while (batch.size() < max && read < written) {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("spool file " + file + " ends after " + read + " of " + written + " records");
            }
            Spooled s = Json.MAPPER.readValue(line, SPOOLED);
            batch.add(new Record(s.id(), new SourceRef(s.file(), s.line()), new LinkedHashMap<>(s.fields()), s.meta()));
            read++;
        }
        return batch;
    }

    @Override
    public void close() throws IOException {
        try {
            if (in != null) {
                in.close();
            } else {
                out.close();
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
