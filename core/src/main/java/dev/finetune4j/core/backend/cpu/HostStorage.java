package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.MemoryCounter;
import dev.finetune4j.core.tensor.Storage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * CPU storage: a {@link MemorySegment} that is native (parameters, gradients, optimizer state: freed with their
 * scope), memory-mapped (weights read from a file: its owner unmaps it) or a Java array (a step's activations:
 * wrapping the array a kernel filled costs neither a native allocation, which zero-fills, nor a copy).
 */
public final class HostStorage implements Storage {
    private final MemorySegment segment;
    private final Arena arena;
    private final MemoryCounter counter;

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
     * The bytes.
     *
     * @return the memory
     */
    public MemorySegment segment() {
        return segment;
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
