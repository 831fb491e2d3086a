package dev.finetune4j.core.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API row kernels against {@link ScalarMath} ({@code Math.exp} in double): every value within
 * 2e-7 relative (two float roundings plus the polynomial's 1e-7), special values exactly, and the same bits
 * on repeated calls.
 */
class MathConformanceTest {
    private static final double REL = 2e-7;

    private final MathKernels fast = CpuBackend.instance().math();
    private final MathKernels oracle = new ScalarMath();

    @Test
    void usesTheVectorKernelsWhenTheModuleIsPresent() {
        assertTrue(fast instanceof VectorMath, fast.getClass().getName());
    }

    @Test
    void expInPlaceAndSumsMatchTheOracleOnEveryRowLength() {
        SplittableRandom random = new SplittableRandom(3);
        for (int n : new int[]{0, 1, 7, 16, 17, 63, 128, 1000, 4096}) {
            float[] x = new float[n + 5];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (random.nextGaussian() * 30);
            }
            float shift = (float) random.nextGaussian();
            float[] a = x.clone();
            float[] b = x.clone();
            double sumFast = fast.expInPlace(a, 3, n, shift);
            double sumOracle = oracle.expInPlace(b, 3, n, shift);
            for (int i = 0; i < x.length; i++) {
                assertRelative(b[i], a[i], "n " + n + " index " + i);
            }
            assertEquals(sumOracle, sumFast, REL * Math.abs(sumOracle), "sum, n " + n);
            assertEquals(sumFast, fast.sumExp(x, 3, n, shift), 0, "sumExp sums what expInPlace stores");
            assertEquals(oracle.max(x, 3, n), fast.max(x, 3, n), 0, "max, n " + n);
        }
    }

    @Test
    void specialValues() {
        float[] x = {Float.NEGATIVE_INFINITY, Float.NaN, Float.POSITIVE_INFINITY, -100, 100, 0, -87.4f, 88.7f,
                -1e-30f, 1e-30f, -50, 50, 1, -1, 2, -2, 3};
        float[] a = x.clone();
        float[] b = x.clone();
        fast.expInPlace(a, 0, x.length, 0);
        oracle.expInPlace(b, 0, x.length, 0);
        assertEquals(0f, a[0], 0, "exp(-inf) is exactly 0: masked attention scores carry no mass");
        assertTrue(Float.isNaN(a[1]), "NaN propagates so that the trainer's NaN guard sees it");
        assertEquals(Float.POSITIVE_INFINITY, a[2], 0);
        assertEquals(0f, a[3], 0);
        assertEquals(Float.POSITIVE_INFINITY, a[4], 0);
        assertEquals(1f, a[5], 0);
        for (int i = 6; i < x.length; i++) {
            assertRelative(b[i], a[i], "exp(" + x[i] + ")");
        }
        float[] s = new float[x.length];
        fast.sigmoid(x, s, 0, x.length);
        assertEquals(0f, s[0], 0);
        assertEquals(1f, s[2], 0);
        assertEquals(0.5f, s[5], 0);
        assertEquals(1f, s[4], 0);
    }

    @Test
    void sigmoidMatchesTheOracleAndRepeatsBitForBit() {
        SplittableRandom random = new SplittableRandom(4);
        float[] x = new float[1003];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextGaussian() * 8);
        }
        float[] a = new float[x.length];
        float[] b = new float[x.length];
        fast.sigmoid(x, a, 2, 1001);
        oracle.sigmoid(x, b, 2, 1001);
        for (int i = 0; i < x.length; i++) {
            assertEquals(b[i], a[i], 3e-7, "sigmoid(" + x[i] + ")");
        }
        float[] again = new float[x.length];
        for (int rep = 0; rep < 2_000; rep++) { // long enough for the JIT to compile the kernel mid-way
            fast.sigmoid(x, again, 2, 1001);
            assertArrayEquals(a, again, "repeated call, round " + rep);
        }
    }

    private static void assertRelative(float expected, float actual, String where) {
        assertEquals(expected, actual, REL * Math.abs(expected) + Float.MIN_NORMAL, where);
    }
}
