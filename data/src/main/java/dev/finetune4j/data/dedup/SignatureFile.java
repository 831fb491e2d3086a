package dev.finetune4j.data.dedup;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * MinHash signatures of one near-dedup pass in a temporary file, by ordinal, so that a pass holds 4 bytes per
 * permutation per record on disk rather than on the heap; reads of recent records come from the page cache.
 * The file is deleted on {@link #close()}. Not thread-safe.
 */
final class SignatureFile implements Closeable {
    private final FileChannel channel;
    private final int numPerm;
    private final ByteBuffer buffer;
    private long count;

    SignatureFile(Path dir, int numPerm) throws IOException {
        Path file = Files.createTempFile(dir, ".near-dedup", ".sig");
        this.channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE,
                StandardOpenOption.DELETE_ON_CLOSE);
        this.numPerm = numPerm;
        this.buffer = ByteBuffer.allocate(4 * numPerm);
    }

    /** Stores the next record's signature; returns its ordinal. */
    long append(int[] sig) throws IOException {
        buffer.clear();
        buffer.asIntBuffer().put(sig);
        buffer.limit(buffer.capacity());
        long pos = count * buffer.capacity();
        while (buffer.hasRemaining()) {
            pos += channel.write(buffer, pos);
        }
        return count++;
    }

    /** The signature stored under {@code ordinal}. */
    int[] read(long ordinal) throws IOException {
        buffer.clear();
        long pos = ordinal * buffer.capacity();
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, pos);
            if (n < 0) {
                throw new IOException("signature file ends before ordinal " + ordinal);
            }
            pos += n;
        }
        buffer.flip();
        int[] sig = new int[numPerm];
        buffer.asIntBuffer().get(sig);
        return sig;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
