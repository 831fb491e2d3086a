package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The arguments of one kernel launch, in the kernel's parameter order, as cuLaunchKernel takes them: an array of
 * pointers to each value. Views are the {@code View} struct of common.cuh: rank, offset, then shape and strides
 * of {@link #MAX_RANK} longs each. Closing frees the values (the launch has copied them by then).
 */
final class KernelArgs implements AutoCloseable {
    /** The most dimensions a view passed to a kernel may have (MAX_RANK in common.cuh). */
    static final int MAX_RANK = 8;

    /** Bytes of native memory taken at a time: a launch's values usually fit one block (one allocation). */
    private static final long BLOCK_BYTES = 2048;

    private final Arena arena = Arena.ofConfined();
    private final SegmentAllocator slots = this::slot;
    private final List<MemorySegment> values = new ArrayList<>();
    private final List<KernelArgType> types = new ArrayList<>();
    private MemorySegment block = MemorySegment.NULL;
    private long used;

    /** A device pointer (0 for a null one). */
    KernelArgs ptr(long pointer) {
        return add(slots.allocateFrom(ValueLayout.JAVA_LONG, pointer), KernelArgType.POINTER);
    }

    /** A {@code long long} or {@code unsigned long long}. */
    KernelArgs i64(long v) {
        return add(slots.allocateFrom(ValueLayout.JAVA_LONG, v), KernelArgType.I64);
    }

    /** An {@code int} or {@code unsigned int}. */
    KernelArgs i32(int v) {
        return add(slots.allocateFrom(ValueLayout.JAVA_INT, v), KernelArgType.I32);
    }

    KernelArgs f32(float v) {
        return add(slots.allocateFrom(ValueLayout.JAVA_FLOAT, v), KernelArgType.F32);
    }

    /** A struct of long values passed by value ({@code Dims} of attention.cuh). */
    KernelArgs longs(long... v) {
        return add(slots.allocateFrom(ValueLayout.JAVA_LONG, v), KernelArgType.struct((long) v.length * Long.BYTES));
    }

    /**
     * A struct of float fields followed by long fields passed by value ({@code AttentionDropout} of attention.cuh),
     * laid out as C does: the floats, padding to a multiple of 8 bytes, the longs.
     */
    KernelArgs floatsThenLongs(float[] floats, long... longs) {
        long longsAt = ((long) floats.length * Float.BYTES + 7) & ~7L;
        MemorySegment value = slots.allocate(longsAt + (long) longs.length * Long.BYTES, 8);
        MemorySegment.copy(floats, 0, value, ValueLayout.JAVA_FLOAT, 0, floats.length);
        MemorySegment.copy(longs, 0, value, ValueLayout.JAVA_LONG, longsAt, longs.length);
        return add(value, KernelArgType.struct(value.byteSize()));
    }

    /** The next {@code bytes} of the current block, 8-byte aligned (every value type's alignment divides 8). */
    private MemorySegment slot(long bytes, long alignment) {
        long size = (bytes + 7) & ~7L;
        if (used + size > block.byteSize()) {
            block = arena.allocate(Math.max(BLOCK_BYTES, size), 8);
            used = 0;
        }
        MemorySegment slot = block.asSlice(used, bytes);
        used += size;
        return slot;
    }

    private KernelArgs add(MemorySegment value, KernelArgType type) {
        values.add(value);
        types.add(type);
        return this;
    }

    /** What each argument is, in order, to check against the kernel's {@link KernelSignature}. */
    List<KernelArgType> types() {
        return List.copyOf(types);
    }

    /** The {@code View} of {@code t}: its offset, shape and strides in elements. */
    KernelArgs view(Tensor t) {
        return longs(packView(t));
    }

    /** The View struct's longs; a rank-0 tensor is a rank-1 view of one element. */
    static long[] packView(Tensor t) {
        int rank = t.rank();
        if (rank > MAX_RANK) {
            throw new IllegalArgumentException("CUDA kernels take views of at most " + MAX_RANK
                    + " dimensions, got " + t.shape() + "; reshape to fewer dimensions first");
        }
        long[] out = new long[2 + 2 * MAX_RANK];
        out[0] = Math.max(rank, 1);
        out[1] = t.offset();
        out[2] = 1;
        for (int d = 0; d < rank; d++) {
            out[2 + d] = t.dim(d);
            out[2 + MAX_RANK + d] = t.strides()[d];
        }
        return out;
    }

    /** The array of pointers to the values. */
    MemorySegment pointers() {
        MemorySegment array = slots.allocate(ValueLayout.ADDRESS, Math.max(1, values.size()));
        for (int i = 0; i < values.size(); i++) {
            array.setAtIndex(ValueLayout.ADDRESS, i, values.get(i));
        }
        return array;
    }

    @Override
    public void close() {
        arena.close();
    }
}
