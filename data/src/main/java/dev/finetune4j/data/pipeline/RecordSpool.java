package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.record.Record;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Records waiting for a {@link Step.Global} step's decisions, Java-serialized to a temporary file so that the
 * corpus is never held in memory; read back once, in the order written. The file is deleted on {@link #close()}.
 * Not thread-safe.
 */
final class RecordSpool implements Closeable {
    /** How often the stream forgets the objects it wrote, so that its back-reference table stays small. */
    private static final int RESET_EVERY = 1024;
    private final Path file;
    private ObjectOutputStream out;
    private ObjectInputStream in;
    private long written;
    private long read;

    RecordSpool(Path dir) throws IOException {
        this.file = Files.createTempFile(dir, ".spool", ".ser");
        this.out = new ObjectOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16));
    }

    void write(Record r) throws IOException {
        out.writeObject(r);
        if (++written % RESET_EVERY == 0) {
            out.reset();
        }
    }

    /** The next {@code max} records (fewer at the end, none when all were read); the first call ends writing. */
    List<Record> next(int max) throws IOException {
        if (in == null) {
            out.close();
            in = new ObjectInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16));
        }
        List<Record> batch = new ArrayList<>(max);
        while (batch.size() < max && read < written) {
            try {
                batch.add((Record) in.readObject());
            } catch (ClassNotFoundException | EOFException e) {
                throw new IOException("spool file " + file + " is damaged after " + read + " of " + written
                        + " records", e);
            }
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
