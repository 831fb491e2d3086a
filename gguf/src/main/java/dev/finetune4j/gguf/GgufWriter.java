package dev.finetune4j.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Writes a GGUF version 3 file (ggml/include/gguf.h): the header ({@code GGUF}, version, tensor and key counts),
 * the key/value section, one info per tensor (name, dimensions, type, offset of its data), padding to
 * {@value #ALIGNMENT} bytes, then each tensor's data at its offset, each padded to {@value #ALIGNMENT} bytes. All
 * numbers little-endian. The data streams tensor by tensor, in batches of rows that are encoded in parallel (on the
 * common fork-join pool: a K-quant row takes far longer to encode than to write), so a file of any size is written
 * with one batch ({@value #BATCH_VALUES} values) and one write buffer in memory. The bytes do not depend on the
 * number of threads. Not thread-safe.
 */
final class GgufWriter {
    /** The data alignment GGUF readers assume without a {@code general.alignment} key. */
    static final int ALIGNMENT = 32;
    private static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
    private static final int VERSION = 3;
    private static final int BUFFER = 1 << 20;
    /** Values per batch of rows encoded together: 16 MiB of float32. */
    static final int BATCH_VALUES = 1 << 22;

    private GgufWriter() {
    }

    /**
     * Writes {@code metadata} and {@code tensors} to {@code channel} from its current position (0).
     *
     * @throws IllegalArgumentException when two tensors share a name
     * @throws IllegalStateException    when a tensor's rows do not add up to its dimensions
     */
    static void write(FileChannel channel, GgufMetadata metadata, List<GgufTensor> tensors, GgufProgress progress)
            throws IOException {
        Set<String> names = new HashSet<>();
        for (GgufTensor t : tensors) {
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("two tensors are named '" + t.name() + "'; GGUF names are unique");
            }
        }
        ByteBuffer out = ByteBuffer.allocateDirect(BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        Sink sink = new Sink(channel, out);
        sink.putInt(MAGIC).putInt(VERSION).putLong(tensors.size()).putLong(metadata.count());
        sink.put(metadata.encoded());
        long offset = 0;
        for (GgufTensor t : tensors) {
            byte[] name = t.name().getBytes(StandardCharsets.UTF_8);
            sink.putLong(name.length).put(name).putInt(t.dims().length);
            for (long d : t.dims()) {
                sink.putLong(d);
            }
            sink.putInt(t.type().id()).putLong(offset);
            offset = padded(offset + t.byteSize());
        }
        sink.pad();
        long totalBytes = offset;
        long written = 0;
        int count = 0;
        for (GgufTensor t : tensors) {
            RowBatch batch = new RowBatch(t, sink);
            t.rows().forEach(batch::add);
            batch.finish();
            sink.pad();
            written = padded(written + t.byteSize());
            progress.written(++count, tensors.size(), written, totalBytes);
        }
        sink.flush();
    }

    private static long padded(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** A tensor's rows, gathered in batches that are encoded in parallel and written in order. */
    private static final class RowBatch {
        private final GgufTensor tensor;
        private final Sink sink;
        private final int rowLength;
        private final int rowBytes;
        private final float[][] rows;
        /** Each stacked matrix's importance weights (one per expert), or null. */
        private final float[][] importance;
        private int filled;
        private long total;

        RowBatch(GgufTensor tensor, Sink sink) {
            this.tensor = tensor;
            this.sink = sink;
            this.importance = tensor.importanceByMatrix();
            this.rowLength = Math.toIntExact(tensor.dims()[0]);
            this.rowBytes = Math.toIntExact(tensor.type().rowBytes(rowLength));
            long capacity = Math.min(tensor.rowCount(), Math.max(1, BATCH_VALUES / rowLength));
            this.rows = new float[(int) capacity][rowLength];
        }

        void add(float[] values) throws IOException {
            if (values.length != rowLength) {
                throw new IllegalStateException("tensor '" + tensor.name() + "': a row of " + values.length
                        + " values where its first dimension is " + rowLength);
            }
            if (filled == rows.length) {
                encodeAndWrite();
            }
            System.arraycopy(values, 0, rows[filled++], 0, rowLength); // the source reuses its array
            total++;
        }

        void finish() throws IOException {
            encodeAndWrite();
            if (total != tensor.rowCount()) {
                throw new IllegalStateException("tensor '" + tensor.name() + "' gave " + total + " rows for "
                        + "dimensions " + Arrays.toString(tensor.dims()) + " (" + tensor.rowCount() + " rows)");
            }
        }

        private void encodeAndWrite() throws IOException {
            byte[] encoded = new byte[filled * rowBytes];
            long first = total - filled;
            IntStream.range(0, filled).parallel().forEach(i -> tensor.type().encodeRow(rows[i],
                    importance == null ? null : importance[tensor.matrixOfRow(first + i)],
                    ByteBuffer.wrap(encoded, i * rowBytes, rowBytes).order(ByteOrder.LITTLE_ENDIAN)));
            sink.put(encoded);
            filled = 0;
        }
    }

    /** Buffers little-endian values into the channel, counting the bytes. */
    private static final class Sink {
        private final FileChannel channel;
        private final ByteBuffer buffer;
        private long written;

        Sink(FileChannel channel, ByteBuffer buffer) {
            this.channel = channel;
            this.buffer = buffer;
        }

        Sink putInt(int v) throws IOException {
            room(4);
            buffer.putInt(v);
            written += 4;
            return this;
        }

        Sink putLong(long v) throws IOException {
            room(8);
            buffer.putLong(v);
            written += 8;
            return this;
        }

        Sink put(byte[] bytes) throws IOException {
            for (int done = 0; done < bytes.length; ) {
                room(1);
                int n = Math.min(buffer.remaining(), bytes.length - done);
                buffer.put(bytes, done, n);
                done += n;
            }
            written += bytes.length;
            return this;
        }

        void pad() throws IOException {
            put(new byte[(int) (padded(written) - written)]);
        }

        private void room(int n) throws IOException {
            if (buffer.remaining() < n) {
                flush();
            }
        }

        void flush() throws IOException {
            buffer.flip();
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            buffer.clear();
        }
    }
}
