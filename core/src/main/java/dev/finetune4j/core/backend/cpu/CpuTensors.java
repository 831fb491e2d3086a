package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeCodec;
import dev.finetune4j.core.tensor.DTypeConversions;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * How the CPU kernels reach tensor memory: as float32 arrays the loops work on. A bulk copy in and out of each
 * kernel keeps the loops plain and lets the JIT vectorize them; a step's activations are already Java arrays, so
 * most reads and writes need no copy at all.
 */
final class CpuTensors {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort H = ValueLayout.JAVA_SHORT_UNALIGNED;

    private CpuTensors() {
    }

    /**
     * The memory of a CPU tensor. A kernel that writes it calls {@link #written} afterwards.
     *
     * @throws IllegalArgumentException when a tensor of another device reached a CPU kernel
     */
    static MemorySegment segment(Tensor t) {
        if (!(t.storage() instanceof HostStorage host)) {
            throw new IllegalArgumentException("a CPU kernel was handed " + t + " on " + t.device()
                    + "; every operand of an op must be on the same device (copy with Tensor.copyTo)");
        }
        return host.memory();
    }

    /** Counts a write into {@code t}'s storage ({@link HostStorage#version}); called after the kernel wrote. */
    static void written(Tensor t) {
        ((HostStorage) t.storage()).written();
    }

    /**
     * The values of {@code t} in row-major order, as float32, for reading only: the array {@code t} wraps when it
     * is all of it (no copy), a copy otherwise. The caller must not change it.
     */
    static float[] read(Tensor t) {
        float[] whole = backingArray(t);
        return whole != null ? whole : gather(t);
    }

    /** The values of {@code t} in row-major order as a fresh float32 array the caller may change. */
    static float[] copy(Tensor t) {
        float[] whole = backingArray(t);
        return whole != null ? whole.clone() : gather(t);
    }

    /**
     * Copies the F32 values of {@code src} (any layout) into the contiguous F32 tensor {@code dst}: straight into
     * dst's own array when it has one, so that {@code contiguous()} of a permuted view makes one copy, not two.
     */
    static void copyF32(Tensor src, Tensor dst) {
        float[] own = backingArray(dst);
        if (own == null) {
            commit(dst, read(src));
            return;
        }
        float[] whole = backingArray(src);
        if (whole != null) {
            System.arraycopy(whole, 0, own, 0, whole.length);
        } else {
            gather(src, own);
        }
        written(dst);
    }

    /**
     * The array to fill for the contiguous F32 output {@code out}: its own storage when that is a Java array of
     * exactly its elements, else a scratch array to hand to {@link #commit}.
     */
    static float[] output(Tensor out) {
        if (out.dtype() != DType.F32 || !out.isContiguous()) {
            throw new IllegalArgumentException("kernel outputs are contiguous F32 tensors, got " + out);
        }
        float[] whole = backingArray(out);
        return whole != null ? whole : new float[Math.toIntExact(out.numel())];
    }

    /**
     * Like {@link #output} but holding {@code out}'s current values, for kernels that accumulate into it
     * ({@code c += a b}, scatter-add); hand it to {@link #commit} afterwards.
     */
    static float[] accumulator(Tensor out) {
        float[] values = output(out);
        if (backingArray(out) != values) {
            MemorySegment.copy(segment(out), F, out.offset() * Float.BYTES, values, 0, values.length);
        }
        return values;
    }

    /**
     * Like {@link #output} for the kernels that also write bf16 (the forward ops whose result is an activation): an
     * array for a contiguous F32 or BF16 {@code out}, which {@link #commit} stores, rounding once for BF16.
     */
    static float[] floatOutput(Tensor out) {
        if (out.dtype() == DType.BF16 && out.isContiguous()) {
            return new float[Math.toIntExact(out.numel())];
        }
        if (out.dtype() != DType.F32 || !out.isContiguous()) {
            throw new IllegalArgumentException("this kernel's outputs are contiguous F32 or BF16 tensors, got " + out);
        }
        return output(out);
    }

    /**
     * Stores {@code values} in {@code out} unless they are its storage already ({@link #output}); a BF16 {@code out}
     * ({@link #floatOutput}) gets each value rounded to nearest-even.
     */
    static void commit(Tensor out, float[] values) {
        if (out.dtype() == DType.BF16) {
            MemorySegment target = segment(out);
            for (int i = 0; i < values.length; i++) {
                DTypeCodec.writeFloat(target, DType.BF16, out.offset() + i, values[i]);
            }
        } else if (backingArray(out) != values) {
            MemorySegment.copy(values, 0, segment(out), F, out.offset() * Float.BYTES, values.length);
        }
        written(out);
    }

    /**
     * The float[] a kernel whose output may be any F32 or BF16 view fills in row-major logical order: {@code out}'s
     * own storage when it is contiguous F32 ({@link #output}), else a new array for {@link #commitView}.
     *
     * @throws IllegalArgumentException when {@code out} is neither F32 nor BF16
     */
    static float[] viewOutput(Tensor out) {
        if (out.dtype() != DType.F32 && out.dtype() != DType.BF16) {
            throw new IllegalArgumentException("this kernel's output is an F32 or BF16 tensor, got " + out);
        }
        return out.dtype() == DType.F32 && out.isContiguous() ? output(out) : new float[Math.toIntExact(out.numel())];
    }

    /** Stores {@link #viewOutput}'s {@code values} in {@code out}, BF16 values rounded to nearest-even. */
    static void commitView(Tensor out, float[] values) {
        if (out.isContiguous()) {
            commit(out, values);
            return;
        }
        MemorySegment target = segment(out);
        long[] to = elementOffsets(out);
        for (int i = 0; i < to.length; i++) {
            DTypeCodec.writeFloat(target, out.dtype(), to[i], values[i]);
        }
        written(out);
    }

    /**
     * The whole float[] behind the F32 tensor {@code t}'s storage, which {@code t} indexes with its offset and
     * strides, or null when the storage is not a Java float array (native or mapped memory, another dtype).
     */
    static float[] storageArray(Tensor t) {
        MemorySegment s = segment(t);
        return t.dtype() == DType.F32 && s.address() == 0 && s.heapBase().orElse(null) instanceof float[] array
                && array.length * (long) Float.BYTES == s.byteSize() ? array : null;
    }

    /** The float[] behind {@code t} when {@code t} is a contiguous F32 view of all of it, else null. */
    private static float[] backingArray(Tensor t) {
        MemorySegment s = segment(t);
        if (t.dtype() == DType.F32 && t.offset() == 0 && t.isContiguous() && s.address() == 0
                && s.heapBase().orElse(null) instanceof float[] array && array.length == t.numel()) {
            return array;
        }
        return null;
    }

    /** Any layout and floating or integer dtype, converted to float32, row-major, in a new array. */
    private static float[] gather(Tensor t) {
        float[] out = new float[Math.toIntExact(t.numel())];
        gather(t, out);
        return out;
    }

    /** {@link #gather(Tensor)} into the first {@code t.numel()} elements of {@code out}. */
    private static void gather(Tensor t, float[] out) {
        MemorySegment s = segment(t);
        int n = Math.toIntExact(t.numel());
        if (t.dtype() == DType.F32 && t.isContiguous()) {
            MemorySegment.copy(s, F, t.offset() * Float.BYTES, out, 0, n);
            return;
        }
        // any other layout or dtype (transposed, permuted and expanded views; bf16 activations under mixed
        // precision): the innermost dimension in a tight loop, with no per-element offset table
        int rank = t.rank();
        int inner = rank == 0 ? 1 : t.dim(rank - 1);
        long[] strides = t.strides();
        long innerStride = rank == 0 ? 0 : strides[rank - 1];
        int[] idx = new int[Math.max(0, rank - 1)];
        long base = t.offset();
        for (int at = 0; at < n; at += inner) {
            gatherRun(s, t.dtype(), base, innerStride, out, at, inner);
            for (int d = rank - 2; d >= 0; d--) {
                idx[d]++;
                base += strides[d];
                if (idx[d] < t.dim(d)) {
                    break;
                }
                base -= strides[d] * idx[d];
                idx[d] = 0;
            }
        }
    }

    /** {@code count} elements of {@code type} from storage index {@code base}, {@code stride} apart, as float32. */
    private static void gatherRun(MemorySegment s, DType type, long base, long stride, float[] out, int at, int count) {
        switch (type) {
            case F32 -> {
                if (stride == 1) {
                    MemorySegment.copy(s, F, base * Float.BYTES, out, at, count);
                } else {
                    for (int i = 0; i < count; i++) {
                        out[at + i] = s.getAtIndex(F, base + i * stride);
                    }
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out[at + i] = DTypeConversions.bf16ToFloat(s.getAtIndex(H, base + i * stride));
                }
            }
            default -> {
                for (int i = 0; i < count; i++) {
                    out[at + i] = DTypeCodec.readFloat(s, type, base + i * stride);
                }
            }
        }
    }

    /**
     * Rows {@code [from, from + count)} of the contiguous matrix {@code t} (R, C) as float32, converted from
     * its dtype: how kernels read a bf16, f16 or NF4 weight a block at a time instead of converting all of it.
     */
    static float[] rows(Tensor t, int from, int count) {
        float[] out = new float[Math.multiplyExact(count, t.dim(1))];
        if (t.dtype() == DType.NF4) {
            if (t.rank() != 2 || t.offset() != 0 || !t.isContiguous()) {
                throw new IllegalArgumentException("rows of a whole NF4 matrix, got " + t);
            }
            CpuQuantization.dequantize(segment(t), t.numel(), (long) from * t.dim(1), out, 0, out.length);
            return out;
        }
        for (int r = 0; r < count; r++) {
            rowInto(t, from + r, out, r * t.dim(1));
        }
        return out;
    }

    /** Row {@code row} of the contiguous matrix {@code t} (R, C), as float32, into {@code dst[at .. at + C)}. */
    static void rowInto(Tensor t, long row, float[] dst, int at) {
        if (t.rank() != 2 || !t.isContiguous()) {
            throw new IllegalArgumentException("rows of a contiguous matrix, got " + t);
        }
        int cols = t.dim(1);
        float[] whole = backingArray(t);
        if (whole != null) {
            System.arraycopy(whole, Math.toIntExact(row * cols), dst, at, cols);
            return;
        }
        MemorySegment s = segment(t);
        long base = t.offset() + row * cols;
        if (t.dtype() == DType.F32) {
            MemorySegment.copy(s, F, base * Float.BYTES, dst, at, cols);
        } else {
            for (int i = 0; i < cols; i++) {
                dst[at + i] = DTypeCodec.readFloat(s, t.dtype(), base + i);
            }
        }
    }

    /** Storage index of every element of {@code t} in row-major logical order. */
    static long[] elementOffsets(Tensor t) {
        long[] out = new long[Math.toIntExact(t.numel())];
        int rank = t.rank();
        long[] strides = t.strides();
        int[] idx = new int[rank];
        long cur = t.offset();
        for (int i = 0; i < out.length; i++) {
            out[i] = cur;
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                cur += strides[d];
                if (idx[d] < t.dim(d)) {
                    break;
                }
                cur -= strides[d] * idx[d];
                idx[d] = 0;
            }
        }
        return out;
    }
}
