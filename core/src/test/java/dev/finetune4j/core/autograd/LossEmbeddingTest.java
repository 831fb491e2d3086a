package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Cross-entropy with ignored labels, per-token log-probabilities, and embedding lookup vs float64. */
class LossEmbeddingTest {
    private static final int IGN = CrossEntropy.IGNORE_INDEX;

    static double[] logProbs(double[] logits, int[] labels, int v) {
        double[] lp = SoftmaxNormsTest.softmax(logits, v, true);
        double[] out = new double[labels.length];
        for (int r = 0; r < labels.length; r++) {
            out[r] = labels[r] == IGN ? 0 : lp[r * v + labels[r]];
        }
        return out;
    }

    @Test
    void crossEntropyMeansOverLabelsThatAreNotIgnored() {
        int[] labels = {2, IGN, 0, 4, IGN, 1};
        GradCheck.of("crossEntropy", x -> CrossEntropy.loss(x[0], labels)).input(2, 3, 5)
                .reference(x -> {
                    double[] lp = logProbs(x[0], labels, 5);
                    return new double[]{-(lp[0] + lp[2] + lp[3] + lp[5]) / 4};
                }).run();
    }

    @Test
    void tokenLogProbs() {
        int[] labels = {IGN, 3, 0, 3};
        GradCheck.of("tokenLogProbs", x -> CrossEntropy.tokenLogProbs(x[0], labels)).input(4, 4)
                .reference(x -> logProbs(x[0], labels, 4)).run();
    }

    @Test
    void lossByHandAndEdgeCases() {
        try (var s = TensorScope.open()) {
            // uniform logits over 4 classes: loss = log 4
            assertEquals(Math.log(4), CrossEntropy.loss(Tensor.zeros(2, 4), new int[]{1, 3}).getFlat(0), 1e-6);
            assertTrue(Float.isNaN(CrossEntropy.loss(Tensor.zeros(2, 4), new int[]{IGN, IGN}).getFlat(0)), "all ignored: NaN as PyTorch");
            assertThrows(IllegalArgumentException.class, () -> CrossEntropy.loss(Tensor.zeros(2, 4), new int[]{4, 0}));
            assertThrows(IllegalArgumentException.class, () -> CrossEntropy.loss(Tensor.zeros(2, 4), new int[]{0}));
        }
    }

    /**
     * At logits near 1e4 a float32 log-sum-exp would carry half an ulp of 1e4 (5e-4) into every recomputed
     * probability; the backward must give back the forward's softmax to float rounding.
     */
    @Test
    void theBackwardRecomputesTheSoftmaxExactlyAtLargeLogits() {
        int v = 64;
        int[] labels = {5, IGN, 60};
        float[] x = GradCheck.randn(11, labels.length * v);
        for (int i = 0; i < x.length; i++) {
            x[i] = 10_000 + 3 * x[i];
        }
        try (var s = TensorScope.open()) {
            Tensor logits = Tensor.of(x, labels.length, v).requiresGrad(true);
            Tensor lp = CrossEntropy.tokenLogProbs(logits, labels);
            Autograd.backward(Reductions.sum(lp));
            float[] g = logits.grad().toFloatArray();
            for (int r = 0; r < labels.length; r++) {
                double max = Double.NEGATIVE_INFINITY;
                double sum = 0;
                for (int i = 0; i < v; i++) {
                    max = Math.max(max, x[r * v + i]);
                }
                for (int i = 0; i < v; i++) {
                    sum += Math.exp(x[r * v + i] - max);
                }
                if (labels[r] == IGN) {
                    assertEquals(0f, lp.getFlat(r));
                } else {
                    assertEquals(x[r * v + labels[r]] - max - Math.log(sum), lp.getFlat(r), 1e-6, "log p, row " + r);
                }
                for (int i = 0; i < v; i++) {
                    double expected = labels[r] == IGN ? 0
                            : (i == labels[r] ? 1 : 0) - Math.exp(x[r * v + i] - max) / sum;
                    assertEquals(expected, g[r * v + i], 1e-6 * Math.abs(expected) + 1e-12, "dlogits, row " + r + ", class " + i);
                }
            }
        }
    }

    @Test
    void embeddingScatterAddsRepeatedIds() {
        long[][] ids = {{3, 0, 3}, {1, 3, 4}};
        GradCheck.of("embedding", x -> EmbeddingLookup.lookup(x[0], ids)).input(5, 4)
                .reference(x -> {
                    double[] out = new double[6 * 4];
                    for (int r = 0; r < 6; r++) {
                        System.arraycopy(x[0], (int) ids[r / 3][r % 3] * 4, out, r * 4, 4);
                    }
                    return out;
                }).run();
        try (var s = TensorScope.open()) {
            assertThrows(IllegalArgumentException.class, () -> EmbeddingLookup.lookup(Tensor.zeros(5, 4), new long[][]{{5}}));
            assertThrows(IllegalArgumentException.class, () -> EmbeddingLookup.lookup(Tensor.zeros(5, 4), new long[][]{{1, 2}, {1}}));
        }
    }

    /** A mixture of experts' gather: rows picked in any order, some twice, one never; their gradients add up. */
    @Test
    void indexSelectPicksRowsAndAddsTheirGradients() {
        long[] ids = {4, 1, 4, 0, 1, 4};
        GradCheck.of("indexSelect", x -> IndexSelect.rows(x[0], ids)).input(5, 3)
                .reference(x -> {
                    double[] out = new double[ids.length * 3];
                    for (int r = 0; r < ids.length; r++) {
                        System.arraycopy(x[0], (int) ids[r] * 3, out, r * 3, 3);
                    }
                    return out;
                }).run();
        try (var s = TensorScope.open()) {
            assertThrows(IllegalArgumentException.class, () -> IndexSelect.rows(Tensor.zeros(5, 3), new long[]{5}));
        }
    }
}
