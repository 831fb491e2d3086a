package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.MemoryCounter;
import dev.finetune4j.core.tensor.Storage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * CPU storage: a {@link MemorySegment} that is native (parameters, gradients, optimizer state: freed with their
 * scope), memory-mapped (weights read from a file: its owner unmaps it) or a Java array (a step's activations:
 * wrapping the array a kernel filled costs neither a native allocation, which zero-fills, nor a copy).
 *
 * <p>A storage counts its writes: the CPU kernels keep float32 copies of frozen weights ({@code FrozenWeights})
 * and re-read a weight when its storage's count changed, instead of comparing all its values at every product.
 * Every kernel that writes counts its write, and so does handing out the memory ({@link #segment}), since the caller
 * may write through it.
 */
public final class HostStorage implements Storage {
    private final MemorySegment segment;
    private final Arena arena;
    private final MemoryCounter counter;
    private final AtomicLong writes = new AtomicLong();

    private HostStorage(MemorySegment segment, Arena arena, MemoryCounter counter) {
        this.segment = segment;
        this.arena = arena;
        this.counter = counter;
        if (counter != null) {
            counter.allocated(segment.byteSize());
        }
    }

    /** Native memory with its own arena, so that it can be freed on its own. */
    static HostStorage allocateNative(long bytes, MemoryCounter counter) {
        Arena arena = Arena.ofShared();
        return new HostStorage(arena.allocate(Math.max(bytes, 1), 64), arena, counter);
    }

    /** Heap memory: a float[] for F32 values (so kernels can use it as it is), else a long[] (8-byte aligned). */
    static HostStorage allocateHeap(long bytes, boolean floats, MemoryCounter counter) {
        long slots = floats ? bytes / Float.BYTES : (bytes + 7) / 8;
        if (slots > Integer.MAX_VALUE - 8) { // the VM's largest array, with room for its header
            throw new IllegalArgumentException("a CPU tensor of " + bytes + " bytes is more than one Java array holds ("
                    + "2^31 - 9 " + (floats ? "floats" : "longs") + "), the most the CPU kernels index: split the work "
                    + "(a smaller batch or sequence, or a chunked computation)");
        }
        MemorySegment segment = floats
                ? MemorySegment.ofArray(new float[Math.toIntExact(bytes / Float.BYTES)])
                : MemorySegment.ofArray(new long[Math.toIntExact((bytes + 7) / 8)]).asSlice(0, bytes);
        return new HostStorage(segment, null, counter);
    }

    /**
     * Wraps memory someone else owns (a memory-mapped file, a float[] a kernel filled) without copying.
     *
     * @param segment the memory; it must outlive the storage
     * @return a storage that does not free the memory
     */
    public static HostStorage wrap(MemorySegment segment) {
        return new HostStorage(segment, null, null);
    }

    /**
     * The bytes, for reading and writing. The storage counts as written at this call, so that products re-read the
     * values; a caller that keeps the segment and writes through it later must call this again after writing.
     *
     * @return the memory
     */
    public MemorySegment segment() {
        written();
        return segment;
    }

    /**
     * The bytes for reading only: a read-only view, so reading does not count as a write.
     *
     * @return a read-only view of the memory
     */
    public MemorySegment readOnlySegment() {
        return segment.asReadOnly();
    }

    /** The bytes, for kernels: a kernel that writes them calls {@link #written} when it has written. */
    MemorySegment memory() {
        return segment;
    }

    /** Counts a write: values read before it may be stale. */
    void written() {
        writes.incrementAndGet();
    }

    /** The number of writes so far: equal numbers before and after reading mean the values read are current. */
    long version() {
        return writes.get();
    }

    @Override
    public Device device() {
        return Device.cpu();
    }

    @Override
    public long byteSize() {
        return segment.byteSize();
    }

    @Override
    public void free() {
        if (counter != null) {
            counter.freed(segment.byteSize());
        }
        if (arena != null) {
            arena.close();
        }
    }
}
