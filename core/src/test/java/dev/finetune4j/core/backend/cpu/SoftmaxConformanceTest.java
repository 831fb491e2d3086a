package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The softmax and cross-entropy kernels of the Vector API backend against the scalar one ({@code Math.exp} in
 * double), on row lengths that exercise the vector body and tail, large and masked logits and ignored labels.
 *
 * <p>Tolerance: the exponentials agree to 2e-7 relative ({@link MathConformanceTest}); a normalised value adds
 * the sum's and the reciprocal's roundings, a gradient one more product, so 1e-6 relative (plus 1e-12 absolute
 * for values that underflow differently) bounds them with room.
 */
class SoftmaxConformanceTest {
    private static final int[] LENGTHS = {1, 7, 16, 17, 63, 1000};
    private static final int ROWS = 5;
    private static final int IGNORE = -100;

    private final Backend fast = CpuBackend.instance();
    private final Backend oracle = CpuBackend.scalar();

    @Test
    void softmaxAndLogSoftmaxForwardAndBackward() {
        for (int v : LENGTHS) {
            try (var scope = TensorScope.open()) {
                Tensor x = logits(v, v);
                Tensor dy = Tensor.of(gaussian(v + 100, ROWS * v, 1), ROWS, v);
                Tensor y = compare("softmax, V " + v, b -> run(b, x, (be, out) -> be.softmax().softmax(x, out)));
                compare("softmaxBackward, V " + v, b -> run(b, x, (be, out) -> be.softmax().softmaxBackward(y, dy, out)));
                Tensor ly = compare("logSoftmax, V " + v, b -> run(b, x, (be, out) -> be.softmax().logSoftmax(x, out)));
                compare("logSoftmaxBackward, V " + v, b -> run(b, x, (be, out) -> be.softmax().logSoftmaxBackward(ly, dy, out)));
            }
        }
    }

    @Test
    void aMaskedRowIsZeroAndTheRowHelperStaysInItsRange() {
        float inf = Float.NEGATIVE_INFINITY;
        float[] a = {9, inf, inf, inf, 1, 2, 9};
        CpuSoftmax.softmaxRow(CpuBackend.instance().math(), a, 1, 3);
        assertArrayEquals(new float[]{9, 0, 0, 0, 1, 2, 9}, a, "an all -inf row has no mass, and no NaN");
        CpuSoftmax.softmaxRow(new ScalarMath(), a, 4, 2);
        double e = Math.exp(1);
        assertArrayEquals(new float[]{9, 0, 0, 0, (float) (1 / (1 + e)), (float) (e / (1 + e)), 9}, a, 1e-7f);
    }

    @Test
    void tokenLogProbsForwardAndBackward() {
        for (int v : LENGTHS) {
            try (var scope = TensorScope.open()) {
                Tensor x = logits(v, 3 * v);
                int[] labels = new int[ROWS];
                for (int r = 0; r < ROWS; r++) {
                    labels[r] = r == 2 ? IGNORE : (r * 7 + 3) % v;
                }
                Tensor lt = Tensor.ofInts(Device.cpu(), labels, Shape.of(ROWS));
                Tensor d = Tensor.of(gaussian(v + 200, ROWS, 1), ROWS);
                Tensor[] fastStats = tokenLogProbs(fast, x, lt);
                Tensor[] oracleStats = tokenLogProbs(oracle, x, lt);
                for (int i = 0; i < 3; i++) {
                    assertClose("tokenLogProbs output " + i + ", V " + v, oracleStats[i].toFloatArray(), fastStats[i].toFloatArray());
                }
                assertEquals(0f, fastStats[0].getFlat(2), "an ignored row contributes 0");
                // each backend's backward from its own statistics, as in training
                Tensor gFast = Tensor.zeros(ROWS, v);
                Tensor gOracle = Tensor.zeros(ROWS, v);
                fast.crossEntropy().tokenLogProbsBackward(x, lt, IGNORE, fastStats[1], fastStats[2], d, gFast);
                oracle.crossEntropy().tokenLogProbsBackward(x, lt, IGNORE, oracleStats[1], oracleStats[2], d, gOracle);
                float[] g = gFast.toFloatArray();
                assertClose("tokenLogProbsBackward, V " + v, gOracle.toFloatArray(), g);
                for (int i = 2 * v; i < 3 * v; i++) {
                    assertEquals(0f, g[i], "an ignored row gets no gradient");
                }
            }
        }
    }

    @Test
    void theKernelRejectsALabelOutsideTheVocabulary() {
        try (var scope = TensorScope.open()) {
            Tensor x = logits(4, 1);
            Tensor lt = Tensor.ofInts(Device.cpu(), new int[]{0, 1, 4, 0, 0}, Shape.of(ROWS));
            var e = assertThrows(IllegalArgumentException.class, () -> tokenLogProbs(fast, x, lt));
            assertTrue(e.getMessage().contains("label 4 at row 2"), e.getMessage());
        }
    }

    /** logProbs, rowMax and invRowSum of {@code x} under {@code backend}. */
    private static Tensor[] tokenLogProbs(Backend backend, Tensor x, Tensor labels) {
        Tensor[] out = {Tensor.zeros(ROWS), Tensor.zeros(ROWS), Tensor.zeros(ROWS)};
        backend.crossEntropy().tokenLogProbs(x, labels, IGNORE, out[0], out[1], out[2]);
        return out;
    }

    /** (ROWS, v) logits: Gaussian rows of growing spread, one near 1000 and one with masked entries. */
    private static Tensor logits(int v, long seed) {
        float[] x = gaussian(seed, ROWS * v, 1);
        for (int r = 0; r < ROWS; r++) {
            for (int i = 0; i < v; i++) {
                x[r * v + i] *= 1 + 10 * r;
            }
        }
        for (int i = 0; i < v; i++) {
            x[v + i] += 1000; // row 1: large logits, where max subtraction matters
            if (i % 3 == 1) {
                x[3 * v + i] = Float.NEGATIVE_INFINITY; // row 3: masked entries carry no mass
            }
        }
        return Tensor.of(x, ROWS, v);
    }

    private static float[] gaussian(long seed, int n, double scale) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (random.nextGaussian() * scale);
        }
        return out;
    }

    @FunctionalInterface
    private interface Kernel {
        void run(Backend backend, Tensor out);
    }

    private static Tensor run(Backend backend, Tensor like, Kernel kernel) {
        Tensor out = Tensor.zeros(like.shape());
        kernel.run(backend, out);
        return out;
    }

    /** Runs a kernel on both backends, checks they agree and returns the oracle's result. */
    private Tensor compare(String what, Function<Backend, Tensor> kernel) {
        Tensor expected = kernel.apply(oracle);
        assertClose(what, expected.toFloatArray(), kernel.apply(fast).toFloatArray());
        return expected;
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Float.isInfinite(expected[i])) {
                assertEquals(expected[i], actual[i], what + " at " + i);
            } else {
                assertEquals(expected[i], actual[i], 1e-6 * Math.abs(expected[i]) + 1e-12, what + " at " + i);
            }
        }
    }
}
