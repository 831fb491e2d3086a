package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused, chunked output projection + cross-entropy against the unfused {@code Matmul.linear} then
 * {@code CrossEntropy}: values and input gradients bit for bit, the weight's gradient (summed chunk by chunk) within
 * 1e-6 relative; and against float64 finite differences.
 */
class LinearCrossEntropyTest {
    private static final int IGN = CrossEntropy.IGNORE_INDEX;
    private static final int N = 53;
    private static final int C = 24;
    private static final int V = 97;
    /** The largest |fused - unfused| / max|unfused| the weight gradient may show. */
    private static final double WEIGHT_GRAD_RTOL = 1e-6;

    private static int[] labels() {
        int[] labels = new int[N];
        for (int i = 0; i < N; i++) {
            labels[i] = i % 7 == 3 ? IGN : (i * 31 + 5) % V;
        }
        return labels;
    }

    @Test
    void finiteDifferencesOfBothInputs() {
        int[] labels = {2, IGN, 0, 6, 1};
        GradCheck.of("linearCrossEntropy", x -> LinearCrossEntropy.tokenLogProbs(x[0], x[1], labels, 2))
                .input(5, 3).input(7, 3)
                .reference(x -> LossEmbeddingTest.logProbs(logits(x[0], x[1], 0), labels, 7))
                .run();
    }

    /** (5, 3) hidden times (7, 3) weight transposed in double, capped by {@code cap * tanh(z / cap)} unless 0. */
    private static double[] logits(double[] hidden, double[] weight, double cap) {
        double[] logits = new double[5 * 7];
        for (int r = 0; r < 5; r++) {
            for (int v = 0; v < 7; v++) {
                for (int c = 0; c < 3; c++) {
                    logits[r * 7 + v] += hidden[r * 3 + c] * weight[v * 3 + c];
                }
                logits[r * 7 + v] = cap == 0 ? logits[r * 7 + v] : cap * Math.tanh(logits[r * 7 + v] / cap);
            }
        }
        return logits;
    }

    @Test
    void softCappedLogitsByFiniteDifferences() {
        int[] labels = {2, IGN, 0, 6, 1};
        GradCheck.of("linearCrossEntropy, soft cap 1.5", x -> LinearCrossEntropy.tokenLogProbs(x[0], x[1], labels, 2, 1.5f))
                .input(5, 3).input(7, 3)
                .reference(x -> LossEmbeddingTest.logProbs(logits(x[0], x[1], 1.5), labels, 7))
                .run();
    }

    /** Gemma 2's capped logits: the same log-probabilities as capping the whole logits, gradients within rounding. */
    @Test
    void softCappedEqualsTheUnfusedCappedPath() {
        float cap = 2f; // logits of N(0, 1) inputs over 24 dimensions reach about 15: tanh saturates
        Result unfused = run(Precision.F32, DType.F32, true, (h, w) -> CrossEntropy.tokenLogProbs(Elementwise.scale(
                Activations.apply(Activations.Kind.TANH, Elementwise.scale(Matmul.linear(h, w, null), 1 / cap)), cap),
                labels()));
        for (int chunkRows : new int[]{1, 16, 1000}) {
            Result fused = run(Precision.F32, DType.F32, true,
                    (h, w) -> LinearCrossEntropy.tokenLogProbs(h, w, labels(), chunkRows, cap));
            assertArrayEquals(unfused.values, fused.values, "log-probs, chunks of " + chunkRows);
            assertClose(unfused.dHidden, fused.dHidden, "dHidden, chunks of " + chunkRows);
            assertClose(unfused.dWeight, fused.dWeight, "dWeight, chunks of " + chunkRows);
        }
        Result uncapped = run(Precision.F32, DType.F32, true, LinearCrossEntropyTest::unfused);
        assertTrue(!Arrays.equals(uncapped.values, unfused.values), "the cap changes the log-probabilities");
    }

    @Test
    void equalsTheUnfusedPathInFloat32ForEveryChunking() {
        for (int chunkRows : new int[]{1, 9, 16, 50, 53, 1000}) {
            Result fused = run(Precision.F32, DType.F32, true, (h, w) -> LinearCrossEntropy.tokenLogProbs(h, w, labels(), chunkRows));
            Result unfused = run(Precision.F32, DType.F32, true, LinearCrossEntropyTest::unfused);
            assertArrayEquals(unfused.values, fused.values, "log-probs, chunks of " + chunkRows);
            assertArrayEquals(unfused.dHidden, fused.dHidden, "dHidden, chunks of " + chunkRows);
            assertClose(unfused.dWeight, fused.dWeight, "dWeight, chunks of " + chunkRows);
            for (int r = 0; r < N; r++) {
                if (labels()[r] == IGN) {
                    assertEquals(0f, fused.values[r], "ignored row " + r);
                }
            }
        }
    }

    @Test
    void meanLossEqualsCrossEntropyLoss() {
        Result fused = run(Precision.F32, DType.F32, true, (h, w) -> LinearCrossEntropy.loss(h, w, labels()));
        Result unfused = run(Precision.F32, DType.F32, true,
                (h, w) -> CrossEntropy.loss(Matmul.linear(h, w, null), labels()));
        assertArrayEquals(unfused.values, fused.values);
        assertArrayEquals(unfused.dHidden, fused.dHidden);
        assertClose(unfused.dWeight, fused.dWeight, "dWeight of the mean loss");
    }

    @Test
    void aFrozenBf16WeightGetsNoGradientAndTheHiddenGradientIsEqual() {
        Result fused = run(Precision.F32, DType.BF16, false, (h, w) -> LinearCrossEntropy.tokenLogProbs(h, w, labels(), 10));
        Result unfused = run(Precision.F32, DType.BF16, false, LinearCrossEntropyTest::unfused);
        assertArrayEquals(unfused.values, fused.values);
        assertArrayEquals(unfused.dHidden, fused.dHidden);
        assertNull(fused.dWeight);
    }

    @Test
    void bf16MixedPrecisionRoundsAsTheUnfusedPath() {
        Result fused = run(Precision.BF16_MIXED, DType.F32, true, (h, w) -> LinearCrossEntropy.tokenLogProbs(h, w, labels(), 12));
        Result unfused = run(Precision.BF16_MIXED, DType.F32, true, LinearCrossEntropyTest::unfused);
        assertArrayEquals(unfused.values, fused.values);
        assertArrayEquals(unfused.dHidden, fused.dHidden);
        assertClose(unfused.dWeight, fused.dWeight, "dWeight under BF16_MIXED");
    }

    /** GPT-2 and tied decoders: the head's weight is the embedding, and gets gradient through both uses. */
    @Test
    void aTiedEmbeddingGetsTheGradientOfBothUses() {
        long[][] ids = new long[1][N];
        for (int i = 0; i < N; i++) {
            ids[0][i] = (i * 13L) % V;
        }
        BiFunction<Tensor, Tensor, Tensor> tied = (h, w) -> Elementwise.add(h, EmbeddingLookup.lookup(w, ids).reshape(N, C));
        Result fused = run(Precision.F32, DType.F32, true,
                (h, w) -> LinearCrossEntropy.tokenLogProbs(tied.apply(h, w), w, labels(), 8));
        Result unfused = run(Precision.F32, DType.F32, true, (h, w) -> unfused(tied.apply(h, w), w));
        assertArrayEquals(unfused.values, fused.values);
        assertArrayEquals(unfused.dHidden, fused.dHidden);
        assertClose(unfused.dWeight, fused.dWeight, "tied embedding gradient");
    }

    /** The point of the op: the step's tensors peak near one chunk of logits, not at the N x V logits. */
    @Test
    void holdsOneChunkOfLogitsAtATime() {
        int n = 256;
        int v = 4096;
        int chunkRows = 16;
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = (i * 37) % v;
        }
        for (boolean fused : new boolean[]{true, false}) {
            try (var s = TensorScope.open()) {
                Tensor hidden = Tensor.of(GradCheck.randn(3, n * C), n, C).requiresGrad(true);
                Tensor weight = Tensor.of(GradCheck.randn(4, v * C), v, C);
                var backend = hidden.backend();
                backend.resetPeak();
                long before = backend.memory().allocatedBytes();
                Tensor lp = fused ? LinearCrossEntropy.tokenLogProbs(hidden, weight, labels, chunkRows)
                        : CrossEntropy.tokenLogProbs(Matmul.linear(hidden, weight, null), labels);
                Autograd.backward(Reductions.sum(lp));
                long peak = backend.memory().peakBytes() - before;
                long chunk = (long) chunkRows * v * Float.BYTES;
                long logits = (long) n * v * Float.BYTES;
                if (fused) {
                    assertTrue(peak < chunk + logits / 8, "fused peak " + peak + " bytes, one chunk is " + chunk);
                } else {
                    assertTrue(peak >= 2 * logits, "the unfused path holds logits and their gradient: " + peak);
                }
            }
        }
    }

    @Test
    void rejectsShapesThatDoNotFitAndEmptyChunks() {
        try (var s = TensorScope.open()) {
            Tensor h = Tensor.zeros(4, 3);
            assertThrows(IllegalArgumentException.class,
                    () -> LinearCrossEntropy.tokenLogProbs(h, Tensor.zeros(5, 4), new int[4], 2));
            assertThrows(IllegalArgumentException.class,
                    () -> LinearCrossEntropy.tokenLogProbs(h, Tensor.zeros(5, 3), new int[4], 0));
            assertThrows(IllegalArgumentException.class,
                    () -> LinearCrossEntropy.tokenLogProbs(h, Tensor.zeros(5, 3), new int[]{0, 1, 5, 2}, 2));
            assertThrows(IllegalArgumentException.class,
                    () -> LinearCrossEntropy.tokenLogProbs(h, Tensor.zeros(5, 3), new int[3], 2));
        }
    }

    @Test
    void chunkRowsKeepAboutSixtyFourMebibytesOfLogits() {
        assertEquals(110, LinearCrossEntropy.defaultChunkRows(151_936));
        assertEquals(16, LinearCrossEntropy.defaultChunkRows(10_000_000));
        assertTrue(LinearCrossEntropy.defaultChunkRows(97) >= N, "a small vocabulary fits in one chunk");
    }

    private static Tensor unfused(Tensor hidden, Tensor weight) {
        return CrossEntropy.tokenLogProbs(Matmul.linear(hidden, weight, null), labels());
    }

    /** The forward's values and the gradients of sum(out * ramp) (a ramp, so that each row's gradient differs). */
    private record Result(float[] values, float[] dHidden, float[] dWeight) {
    }

    private static Result run(Precision precision, DType weightType, boolean trainWeight,
                              BiFunction<Tensor, Tensor, Tensor> op) {
        try (var p = precision.use(); var s = TensorScope.open()) {
            Tensor hidden = Tensor.of(GradCheck.randn(1, N * C), N, C).requiresGrad(true);
            Tensor weight = Tensor.of(GradCheck.randn(2, V * C), V, C).to(weightType).requiresGrad(trainWeight);
            Tensor out = op.apply(hidden, weight);
            float[] ramp = new float[Math.toIntExact(out.numel())];
            for (int i = 0; i < ramp.length; i++) {
                ramp[i] = 1f + i / 8f;
            }
            Autograd.backward(Reductions.sum(Elementwise.mul(out, Tensor.of(ramp, out.shape().dims()))));
            return new Result(out.toFloatArray(), hidden.grad().toFloatArray(),
                    trainWeight ? weight.grad().toFloatArray() : weight.grad() == null ? null : weight.grad().toFloatArray());
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        double maxAbs = 0;
        double maxDiff = 0;
        for (int i = 0; i < expected.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
            maxDiff = Math.max(maxDiff, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(maxDiff <= WEIGHT_GRAD_RTOL * maxAbs, what + ": largest difference " + maxDiff + " of " + maxAbs);
    }
}
