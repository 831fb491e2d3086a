package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The training form of the DPO losses (tensor ops on the device) against the scalar formulas in double: value and
 * gradient for each loss type, at h = 0 (DPO's first step), for a large |beta h| where a naive log(sigmoid) would
 * overflow, and under bf16 mixed precision (the loss stays float32); the reward sums against a batch worked by hand.
 */
class DpoLossTest {
    // pairs (policy chosen, policy rejected, reference chosen, reference rejected): h = 0, 3.5, -1.25, -2000
    private static final double[][] PAIRS = {
            {-20.5, -22.25, -20.5, -22.25}, {-10.0, -15.0, -11.0, -12.5}, {-7.5, -6.0, -8.0, -7.75}, {-2010, -10, -10, -10}};

    @Test
    void valuesAndGradientsMatchTheScalarFormulas() {
        for (DpoConfig cfg : List.of(DpoConfig.sigmoid(0.1), DpoConfig.sigmoid(0.5).withLabelSmoothing(0.1),
                DpoConfig.ipo(0.1))) {
            for (Precision precision : Precision.values()) {
                check(cfg, precision);
            }
        }
    }

    /**
     * Two pairs, beta 0.5, worked by hand: policy (chosen, rejected) = (-1, -3) and (-2, -2.5), reference (-1.5, -2)
     * and (-2, -2.5). Rewards: chosen 0.5 (0.5) = 0.25 and 0, rejected 0.5 (-1) = -0.5 and 0; the second pair is a
     * tie, which TRL's {@code chosen > rejected} does not count as correct.
     */
    @Test
    void metricSumsOfAHandWorkedBatch() {
        for (Precision precision : Precision.values()) {
            try (var scope = TensorScope.open(); var mode = precision.use()) {
                Tensor policy = Tensor.of(new float[]{-1, -2, -3, -2.5f}, 4).requiresGrad(true);
                Map<String, Tensor> sums = DpoLoss.metricSums(DpoConfig.sigmoid(0.5), policy,
                        Tensor.of(new float[]{-1.5f, -2, -2, -2.5f}, 4));
                Map<String, Float> values = new LinkedHashMap<>();
                sums.forEach((name, t) -> {
                    assertFalse(t.requiresGrad(), name + " must not record autograd");
                    values.put(name, t.toFloatArray()[0]);
                });
                // logps: the policy's chosen (-1, -2) and rejected (-3, -2.5) log-probabilities, summed
                assertEquals(Map.of("rewards/chosen", 0.25f, "rewards/rejected", -0.5f, "rewards/margins", 0.75f,
                        "rewards/accuracies", 1f, "logps/chosen", -3f, "logps/rejected", -5.5f), values,
                        precision.toString());
            }
        }
    }

    /** The accuracy counts c > r exactly: a tie is 0, the smallest positive margins (normal and subnormal) are 1. */
    @Test
    void accuracyIsAnExactCountAtTheEdges() {
        float[] chosen = {0, Float.MIN_VALUE, Float.MIN_NORMAL, 1e-30f, -1e-30f, 3e38f, -3e38f, 5};
        int n = chosen.length;
        float[] values = new float[2 * n];
        System.arraycopy(chosen, 0, values, 0, n); // policy chosen = the margin, everything else 0
        try (var scope = TensorScope.open()) {
            Tensor accuracy = DpoLoss.metricSums(DpoConfig.sigmoid(1), Tensor.of(values, 2 * n),
                    Tensor.zeros(2 * n)).get("rewards/accuracies");
            assertEquals(5f, accuracy.toFloatArray()[0], "positives among " + Arrays.toString(chosen));
        }
    }

    private static void check(DpoConfig cfg, Precision precision) {
        int n = PAIRS.length;
        float[] p = new float[2 * n];
        float[] r = new float[2 * n];
        double[] rc = new double[n];
        double[] rr = new double[n];
        double expected = 0;
        for (int i = 0; i < n; i++) {
            p[i] = (float) PAIRS[i][0];
            p[n + i] = (float) PAIRS[i][1];
            r[i] = (float) PAIRS[i][2];
            r[n + i] = (float) PAIRS[i][3];
            rc[i] = PAIRS[i][2];
            rr[i] = PAIRS[i][3];
            expected += DpoLoss.loss(cfg, p[i], p[n + i], rc[i], rr[i]);
        }
        try (var scope = TensorScope.open(); var mode = precision.use()) {
            Tensor policy = Tensor.of(p, 2 * n).requiresGrad(true);
            Tensor loss = DpoLoss.lossSum(cfg, policy, Tensor.of(r, 2 * n));
            float value = loss.toFloatArray()[0];
            assertEquals(expected, value, 1e-6 * Math.max(1, Math.abs(expected)), cfg + " " + precision + " loss");
            Autograd.backward(loss);
            float[] g = policy.grad().toFloatArray();
            for (int i = 0; i < n; i++) {
                double h = (p[i] - rc[i]) - (p[n + i] - rr[i]);
                double slope = DpoLoss.dLossDh(cfg, h);
                assertEquals(slope, g[i], 1e-6 * Math.max(1, Math.abs(slope)), cfg + " dL/dpc of pair " + i);
                assertEquals(-slope, g[n + i], 1e-6 * Math.max(1, Math.abs(slope)), cfg + " dL/dpr of pair " + i);
                assertTrue(Float.isFinite(g[i]), cfg + " gradient of pair " + i);
            }
        }
    }
}
