package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * A product whose right operand is packed from its storage (float32, bf16 or f16, converted as it is packed) equals,
 * bit for bit, the float32 product of the converted values: every kernel path (panels, few rows, few columns, the
 * turned-around {@code A^T B}) on odd shapes, both transposes, offsets into larger storage and accumulation.
 */
class StoredMatrixGemmTest {
    private static final DType[] DTYPES = {DType.BF16, DType.F16, DType.F32};

    private final GemmKernel vector = VectorSupport.newVectorGemm();
    private final GemmKernel scalar = new ScalarGemm();

    @Test
    void everyPathOnOddShapesMatchesTheConvertedProductBitForBit() {
        int[][] shapes = {
                {1, 1, 1}, {3, 17, 33}, {17, 33, 3}, {33, 65, 130}, {130, 3, 65}, // small, partial tiles and panels
                {5, 700, 300}, {8, 517, 301}, // few rows (m <= 8)
                {300, 7, 520}, {1023, 8, 704}, // few columns (n <= 8)
                {704, 8, 1024}, // A^T B with m > 2n: turned around
                {300, 257, 700}, {130, 520, 300}, // parallel, several k slices
        };
        long seed = 1;
        for (DType dtype : DTYPES) {
            for (int[] s : shapes) {
                for (int t = 0; t < 8; t++) {
                    boolean ta = (t & 1) != 0;
                    boolean tb = (t & 2) != 0;
                    boolean accumulate = (t & 4) != 0;
                    compare(vector, dtype, s[0], s[1], s[2], ta, tb, accumulate, (int) (seed % 5), seed++);
                }
            }
        }
    }

    @Test
    void theScalarKernelReadsStoredValuesLikeConvertedOnes() {
        long seed = 100;
        for (DType dtype : DTYPES) {
            for (int t = 0; t < 8; t++) {
                compare(scalar, dtype, 9, 13, 21, (t & 1) != 0, (t & 2) != 0, (t & 4) != 0, 3, seed++);
            }
        }
    }

    /**
     * A right operand larger than one packed block (4M floats) is packed a block of columns, or of k rows, at a time;
     * the sums are those of packing it whole (the frozen-weight layout, {@link GemmKernel#pack}), for float32 arrays
     * and stored bf16 alike.
     */
    @Test
    void anOperandLargerThanOneBlockIsPackedInBlocksWithTheSameSums() {
        int[][] shapes = {{20, 600, 9000}, {20, 5000, 900}}; // blocks over k; blocks of columns
        long seed = 200;
        for (int[] s : shapes) {
            for (int t = 0; t < 4; t++) {
                int m = s[0];
                int n = s[1];
                int k = s[2];
                boolean tb = (t & 1) != 0;
                boolean accumulate = (t & 2) != 0;
                SplittableRandom random = new SplittableRandom(seed++);
                float[] a = values(random, m * k);
                float[] c0 = values(random, m * n);
                float[] b = new float[k * n];
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment storage = arena.allocate((long) k * n * Short.BYTES);
                    for (int i = 0; i < b.length; i++) {
                        short bits = DTypeConversions.floatToBf16((float) random.nextGaussian());
                        storage.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, bits);
                        b[i] = DTypeConversions.bf16ToFloat(bits);
                    }
                    float[] whole = c0.clone();
                    vector.gemm(a, 0, false, vector.pack(b, 0, tb, k, n), whole, 0, m, accumulate);
                    float[] blocks = c0.clone();
                    vector.gemm(a, 0, false, b, 0, tb, blocks, 0, m, n, k, accumulate);
                    float[] stored = c0.clone();
                    vector.gemm(a, 0, false, new StoredMatrix(storage, DType.BF16, 0), tb, stored, 0, m, n, k, accumulate);
                    String what = m + "x" + n + "x" + k + " tb=" + tb + " accumulate=" + accumulate;
                    assertArrayEquals(whole, blocks, "float32 " + what);
                    assertArrayEquals(whole, stored, "bf16 " + what);
                }
            }
        }
    }

    /**
     * {@code c (+)= op(a) op(b)} with b stored as {@code dtype} at element {@code offset} of a larger native
     * segment, against the same kernel on b's converted float32 values.
     */
    private static void compare(GemmKernel kernel, DType dtype, int m, int n, int k, boolean ta, boolean tb,
                                boolean accumulate, int offset, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] a = values(random, m * k);
        float[] c0 = values(random, m * n);
        int size = k * n;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment storage = arena.allocate((long) (offset + size + 3) * dtype.bytesFor(1));
            float[] converted = new float[size];
            for (int i = 0; i < offset + size + 3; i++) {
                float v = (float) random.nextGaussian();
                float stored = switch (dtype) {
                    case BF16 -> {
                        short bits = DTypeConversions.floatToBf16(v);
                        storage.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, bits);
                        yield DTypeConversions.bf16ToFloat(bits);
                    }
                    case F16 -> {
                        short bits = DTypeConversions.floatToF16(v);
                        storage.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, bits);
                        yield DTypeConversions.f16ToFloat(bits);
                    }
                    default -> {
                        storage.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
                        yield v;
                    }
                };
                if (i >= offset && i < offset + size) {
                    converted[i - offset] = stored;
                }
            }
            float[] expected = c0.clone();
            kernel.gemm(a, 0, ta, converted, 0, tb, expected, 0, m, n, k, accumulate);
            float[] actual = c0.clone();
            kernel.gemm(a, 0, ta, new StoredMatrix(storage, dtype, offset), tb, actual, 0, m, n, k, accumulate);
            assertArrayEquals(expected, actual, () -> kernel.name() + " " + dtype + " " + m + "x" + n + "x" + k
                    + " ta=" + ta + " tb=" + tb + " accumulate=" + accumulate + " offset=" + offset);
        }
    }

    private static float[] values(SplittableRandom random, int count) {
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }
}
