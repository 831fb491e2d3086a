package dev.finetune4j.data.format;

import java.io.Closeable;
import java.io.IOException;

/** An open input: yields records and bad lines one at a time, never the whole file. Not thread-safe. */
public interface RecordStream extends Closeable {
    /**
     * The next record or bad line, or {@code null} at the end of the input.
     *
     * @return an {@link Parsed.Ok} record, a {@link Parsed.Bad} line, or {@code null}
     * @throws IOException when the input cannot be read
     */
    Parsed next() throws IOException;

    /**
     * SHA-256 (hex) of the bytes read so far; of the whole file once {@link #next()} returned {@code null}.
     *
     * @return the lowercase hex digest
     */
    String sha256();

    /**
     * Bytes read so far.
     *
     * @return the number of bytes read
     */
    long bytesRead();
}
