package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.QuantizationKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;
import dev.finetune4j.core.tensor.Nf4Format;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * NF4 quantization on the CPU ({@link Nf4Format}). Quantizing reads its source one group of blocks at a time (a
 * memory-mapped bf16 weight is never converted as a whole); groups run in parallel.
 */
final class CpuQuantization implements QuantizationKernels {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final int GROUP_VALUES = Nf4Format.BLOCK * Nf4Format.GROUP;
    /** Values below which the loops stay on the calling thread. */
    private static final long PARALLEL_MIN = 1 << 16;
    private static final float[] CODE = new float[16];
    private static final float[] MIDPOINTS = new float[15];

    static {
        for (int i = 0; i < 16; i++) {
            CODE[i] = Nf4Format.code(i);
        }
        for (int i = 0; i < 15; i++) {
            MIDPOINTS[i] = (CODE[i] + CODE[i + 1]) / 2;
        }
    }

    @Override
    public void quantizeNf4(Tensor src, Tensor dst) {
        checkNf4(dst);
        if (!src.dtype().isFloatingPoint() || !src.isContiguous() || src.numel() != dst.numel()) {
            throw new IllegalArgumentException("NF4 quantizes a contiguous F32, BF16 or F16 tensor of " + dst.numel()
                    + " values, got " + src);
        }
        quantize(CpuTensors.segment(src), src.dtype(), src.offset(), src.numel(), CpuTensors.segment(dst));
        CpuTensors.written(dst);
    }

    @Override
    public void dequantizeNf4(Tensor src, long first, Tensor dst) {
        checkNf4(src);
        if (first < 0 || first + dst.numel() > src.numel()) {
            throw new IndexOutOfBoundsException("values [" + first + ", " + (first + dst.numel()) + ") of " + src);
        }
        float[] out = CpuTensors.output(dst);
        dequantize(CpuTensors.segment(src), src.numel(), first, out, 0, out.length);
        CpuTensors.commit(dst, out);
    }

    private static void checkNf4(Tensor t) {
        if (t.dtype() != DType.NF4 || t.offset() != 0 || !t.isContiguous()) {
            throw new IllegalArgumentException("expected a whole NF4 tensor, got " + t);
        }
    }

    /** Quantizes {@code n} values of {@code type} at element {@code from} of {@code src} into the NF4 storage {@code dst}. */
    static void quantize(MemorySegment src, DType type, long from, long n, MemorySegment dst) {
        if (n == 0) {
            return;
        }
        int blocks = Math.toIntExact(Nf4Format.blocks(n));
        int groups = Math.toIntExact(Nf4Format.groups(n));
        float[] absmax = new float[blocks];
        forEachGroup(groups, n, g -> {
            float[] values = read(src, type, from, n, g);
            for (int b = 0; b * Nf4Format.BLOCK < values.length; b++) {
                float m = 0;
                for (int i = b * Nf4Format.BLOCK, end = Math.min(values.length, i + Nf4Format.BLOCK); i < end; i++) {
                    m = Math.max(m, Math.abs(values[i]));
                }
                absmax[g * Nf4Format.GROUP + b] = m;
            }
        });
        double sum = 0;
        for (float m : absmax) {
            sum += m;
        }
        float offset = (float) (sum / blocks);
        dst.set(F, 0, offset);
        long absmaxAt = Nf4Format.absmaxOffset(n);
        long codesAt = Nf4Format.codesOffset(n);
        forEachGroup(groups, n, g -> {
            int first = g * Nf4Format.GROUP;
            int last = Math.min(blocks, first + Nf4Format.GROUP);
            float scale = 0;
            for (int b = first; b < last; b++) {
                scale = Math.max(scale, Math.abs(absmax[b] - offset));
            }
            dst.set(F, Nf4Format.scalesOffset() + (long) Float.BYTES * g, scale);
            float[] values = read(src, type, from, n, g);
            for (int b = first; b < last; b++) {
                byte code = scale == 0 ? 0 : (byte) Math.round((absmax[b] - offset) / scale * 127f);
                dst.set(ValueLayout.JAVA_BYTE, absmaxAt + b, code);
                // scaled by the maximum the dequantizer will see, so that the rounding of the maximum is not doubled
                float m = code / 127f * scale + offset;
                float inv = m == 0 ? 0 : 1 / m;
                int start = (b - first) * Nf4Format.BLOCK;
                int end = Math.min(values.length, start + Nf4Format.BLOCK);
                for (int i = start; i < end; i += 2) {
                    int hi = nearest(values[i] * inv);
                    int lo = i + 1 < end ? nearest(values[i + 1] * inv) : 0;
                    dst.set(ValueLayout.JAVA_BYTE, codesAt + ((long) g * GROUP_VALUES + i) / 2, (byte) (hi << 4 | lo));
                }
            }
        });
    }

    /** The float32 values of group {@code g} of the {@code n} values at element {@code from} of {@code src}. */
    private static float[] read(MemorySegment src, DType type, long from, long n, int g) {
        long start = (long) g * GROUP_VALUES;
        float[] out = new float[(int) Math.min(GROUP_VALUES, n - start)];
        long at = from + start;
        switch (type) {
            case F32 -> MemorySegment.copy(src, F, at * Float.BYTES, out, 0, out.length);
            case BF16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = DTypeConversions.bf16ToFloat(src.getAtIndex(S, at + i));
                }
            }
            case F16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = DTypeConversions.f16ToFloat(src.getAtIndex(S, at + i));
                }
            }
            default -> throw new IllegalArgumentException("NF4 quantizes floating-point values, not " + type);
        }
        return out;
    }

    /**
     * Dequantizes values {@code [first, first + count)} of the NF4 storage {@code nf4} (of {@code n} values) into
     * {@code out[at ..]}.
     */
    static void dequantize(MemorySegment nf4, long n, long first, float[] out, int at, int count) {
        if (count == 0) {
            return;
        }
        float offset = nf4.get(F, 0);
        long absmaxAt = Nf4Format.absmaxOffset(n);
        long codesAt = Nf4Format.codesOffset(n);
        long firstBlock = first / Nf4Format.BLOCK;
        int blocks = Math.toIntExact((first + count - 1) / Nf4Format.BLOCK - firstBlock + 1);
        IntStream range = IntStream.range(0, blocks);
        (count >= PARALLEL_MIN ? range.parallel() : range).forEach(j -> {
            long b = firstBlock + j;
            long scaleAt = Nf4Format.scalesOffset() + Float.BYTES * (b / Nf4Format.GROUP);
            float m = nf4.get(ValueLayout.JAVA_BYTE, absmaxAt + b) / 127f * nf4.get(F, scaleAt) + offset;
            long start = Math.max(first, b * Nf4Format.BLOCK);
            long end = Math.min(first + count, (b + 1) * Nf4Format.BLOCK);
            for (long i = start; i < end; i++) {
                int packed = nf4.get(ValueLayout.JAVA_BYTE, codesAt + (i >> 1));
                int code = (i & 1) == 0 ? (packed >> 4) & 0xF : packed & 0xF;
                out[at + (int) (i - first)] = CODE[code] * m;
            }
        });
    }

    private static void forEachGroup(int groups, long n, IntConsumer body) {
        IntStream range = IntStream.range(0, groups);
        (n >= PARALLEL_MIN ? range.parallel() : range).forEach(body);
    }

    /** Index of the code value nearest to {@code x} in [-1, 1] (ties go to the lower code). */
    private static int nearest(float x) {
        int lo = 0;
        int hi = 15;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (x > MIDPOINTS[mid]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
