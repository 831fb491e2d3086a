package dev.finetune4j.core.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Vector API gemm against the scalar oracle ({@link ScalarGemm}).
 *
 * <p>Tolerance: two summation orders of {@code k} float32 products differ by at most {@code 2 k u sum|a b|}
 * (u = 2^-24, Higham's gamma_k bound), checked per element.
 */
class GemmConformanceTest {
    private static final int[] SIZES = {1, 3, 17, 33, 65, 130};
    private static final double U = Math.ulp(1f) / 2;

    private final GemmKernel fast = VectorSupport.newVectorGemm();
    private final GemmKernel oracle = new ScalarGemm();

    @Test
    void usesTheVectorKernelWhenTheModuleIsPresent() {
        assertTrue(VectorSupport.isAvailable(), "tests run with --add-modules jdk.incubator.vector (Surefire argLine)");
        assertTrue(fast.name().contains("vector"), fast.name());
        assertTrue(oracle.name().contains("scalar"), oracle.name());
    }

    @Test
    void everyTransposeAndAccumulateCombinationOnOddSizes() {
        long seed = 1;
        for (int m : SIZES) {
            for (int n : SIZES) {
                for (int k : SIZES) {
                    for (int t = 0; t < 8; t++) {
                        compare(m, n, k, (t & 1) != 0, (t & 2) != 0, (t & 4) != 0, 0, seed++);
                    }
                }
            }
        }
    }

    @Test
    void offsetsIntoLargerArrays() {
        compare(17, 33, 65, false, true, true, 7, 3);
        compare(33, 17, 130, true, false, false, 11, 4);
    }

    /** Sizes that take the parallel path: several k slices, many row blocks, and a small-m column split. */
    @Test
    void largeAndSkinnyProducts() {
        compare(300, 257, 700, false, false, false, 0, 5);
        compare(130, 520, 300, true, true, true, 0, 6);
        compare(2, 1500, 400, false, true, false, 0, 7);
        compare(1000, 3, 500, false, false, true, 0, 8);
        compare(704, 8, 1024, true, false, false, 0, 9); // a LoRA B gradient: computed as (B^T A)^T
        compare(704, 8, 1024, true, false, true, 5, 10);
        // rank-8 factors: SkinnyGemm's few-rows and few-columns kernels, full and partial blocks
        compare(8, 704, 1024, true, false, false, 0, 11);
        compare(6, 517, 301, false, false, true, 2, 12);
        compare(1024, 8, 704, false, false, true, 0, 13);
        compare(1023, 7, 300, false, true, false, 1, 14);
    }

    @Test
    void kZeroClearsOrKeepsC() {
        float[] c = {5f, 6f};
        fast.gemm(new float[0], 0, false, new float[0], 0, false, c, 0, 1, 2, 0, true);
        assertEquals(5f, c[0]);
        fast.gemm(new float[0], 0, false, new float[0], 0, false, c, 0, 1, 2, 0, false);
        assertEquals(0f, c[1]);
    }

    /** Products started from pool threads (as attention does) run concurrently without sharing scratch. */
    @Test
    void concurrentCallsFromThePool() {
        IntStream.range(0, 16).parallel().forEach(i -> compare(70 + i, 90, 300, i % 2 == 0, i % 3 == 0, false, 0, 100 + i));
    }

    /** Pre-packed right operands (frozen weights) give the same products, and the packed copy owns its values. */
    @Test
    void packedRightOperands() {
        long seed = 200;
        for (int m : SIZES) {
            for (int n : SIZES) {
                for (int t = 0; t < 8; t++) {
                    compare(m, n, 65, (t & 1) != 0, (t & 2) != 0, (t & 4) != 0, 3, seed++, true);
                }
            }
        }
        compare(300, 257, 700, false, true, false, 0, 300, true);
        compare(1024, 704, 256, false, false, true, 0, 301, true);
    }

    @Test
    void aPackedOperandOfTheOtherKernelIsRefused() {
        var packed = oracle.pack(new float[4], 0, false, 2, 2);
        assertThrows(IllegalArgumentException.class, () -> fast.gemm(new float[4], 0, false, packed, new float[4], 0, 2, false));
    }

    private void compare(int m, int n, int k, boolean ta, boolean tb, boolean acc, int off, long seed) {
        compare(m, n, k, ta, tb, acc, off, seed, false);
    }

    private void compare(int m, int n, int k, boolean ta, boolean tb, boolean acc, int off, long seed, boolean packed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = random(r, off + m * k);
        float[] b = random(r, off + k * n);
        float[] c0 = random(r, off + m * n);
        float[] expected = c0.clone();
        float[] actual = c0.clone();
        oracle.gemm(a, off, ta, b, off, tb, expected, off, m, n, k, acc);
        if (packed) {
            var pb = fast.pack(b, off, tb, k, n);
            float[] original = b.clone();
            java.util.Arrays.fill(b, Float.NaN); // the packed operand must not read b any more
            fast.gemm(a, off, ta, pb, actual, off, m, acc);
            System.arraycopy(original, 0, b, 0, b.length);
        } else {
            fast.gemm(a, off, ta, b, off, tb, actual, off, m, n, k, acc);
        }
        for (int i = 0; i < off; i++) {
            assertEquals(c0[i], actual[i], "gemm wrote before cOffset at " + i);
        }
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double bound = acc ? Math.abs(c0[off + i * n + j]) : 0;
                for (int p = 0; p < k; p++) {
                    bound += Math.abs(a[off + (ta ? p * m + i : i * k + p)] * b[off + (tb ? j * k + p : p * n + j)]);
                }
                double tol = 2 * (k + 1) * U * bound + Float.MIN_NORMAL;
                int ci = off + i * n + j;
                if (Math.abs(actual[ci] - expected[ci]) > tol) {
                    fail(String.format("m=%d n=%d k=%d transposeA=%b transposeB=%b accumulate=%b: c[%d][%d] = %s, oracle %s (tolerance %.3g)",
                            m, n, k, ta, tb, acc, i, j, actual[ci], expected[ci], tol));
                }
            }
        }
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return v;
    }
}
