package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A weight the matrix kernels read where it is stored, converting float32, bf16 or f16 values to float32 as
 * they pack them: a (151,936 x 896) bf16 head is then never copied whole onto the heap, and a product converts
 * each value once, into the panel it is multiplied from. Values in row-major order from element {@code offset}.
 */
record StoredMatrix(MemorySegment segment, DType dtype, long offset) {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort H = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;

    StoredMatrix {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("the kernels read float32, bf16 or f16 values where they lie, got " + dtype);
        }
    }

    /** The contiguous tensor {@code t}'s values. */
    static StoredMatrix of(Tensor t) {
        if (!t.isContiguous()) {
            throw new IllegalArgumentException("a stored operand must be contiguous, got " + t);
        }
        return new StoredMatrix(CpuTensors.segment(t), t.dtype(), t.offset());
    }

    /** Element {@code index} as float32. */
    float get(long index) {
        long at = offset + index;
        return switch (dtype) {
            case BF16 -> DTypeConversions.bf16ToFloat(segment.getAtIndex(H, at));
            case F16 -> DTypeConversions.f16ToFloat(segment.getAtIndex(H, at));
            default -> segment.getAtIndex(F, at);
        };
    }

    /** Elements {@code [index, index + count)} as float32 into {@code dst[at ..]}. */
    void read(long index, float[] dst, int at, int count) {
        long from = offset + index;
        switch (dtype) {
            case BF16 -> readBf16(segment, from, dst, at, count);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst[at + i] = DTypeConversions.f16ToFloat(segment.getAtIndex(H, from + i));
                }
            }
            default -> MemorySegment.copy(segment, F, from * Float.BYTES, dst, at, count);
        }
    }

    /** bf16 values from element {@code from}: four per load, each the upper half of its float32 (little-endian). */
    private static void readBf16(MemorySegment segment, long from, float[] dst, int at, int count) {
        int i = 0;
        for (; i + 4 <= count; i += 4) {
            long bits = segment.get(L, (from + i) * Short.BYTES);
            dst[at + i] = Float.intBitsToFloat((int) bits << 16);
            dst[at + i + 1] = Float.intBitsToFloat((int) (bits >>> 16) << 16);
            dst[at + i + 2] = Float.intBitsToFloat((int) (bits >>> 32) << 16);
            dst[at + i + 3] = Float.intBitsToFloat((int) (bits >>> 48) << 16);
        }
        for (; i < count; i++) {
            dst[at + i] = DTypeConversions.bf16ToFloat(segment.getAtIndex(H, from + i));
        }
    }

    /** The first {@code count} elements as a new float32 array. */
    float[] toFloats(int count) {
        float[] out = new float[count];
        read(0, out, 0, count);
        return out;
    }
}
