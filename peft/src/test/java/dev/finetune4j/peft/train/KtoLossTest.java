package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The KTO loss: the scalar formula and the training form (tensor ops on the device, value and gradient) against
 * micro-batches worked by hand (the KL clamp, the weights) and against TRL's loss re-implemented in torch
 * (tools/reference/kto_torch.py, float64: kto.json's formula cases), under both precisions; the metric sums of a
 * hand-worked batch; the configuration's checks and its advice on the weights.
 */
class KtoLossTest {
    private static final double LN3 = Math.log(3);

    /**
     * beta 1, weights 2 (desirable) and 0.5 (undesirable). KL rows: policy - reference = 2 and -1, mean 0.5 = z.
     * A desirable row with log-ratio z + ln 3 costs 2 (1 - σ(ln 3)) = 2/4; an undesirable one with log-ratio z - ln 3
     * costs 0.5 (1 - σ(z - (z - ln 3))) = 0.5/4; sum 0.625. dLoss/dp: desirable -2 σ(ln 3) σ(-ln 3) = -3/8,
     * undesirable +0.5 (3/16) = 3/32.
     */
    @Test
    void aHandWorkedBatchWithAPositiveKl() {
        KtoConfig cfg = new KtoConfig(1, 2, 0.5);
        double z = KtoLoss.klEstimate(new double[]{-8, -12}, new double[]{-10, -11});
        assertEquals(0.5, z, 1e-15);
        assertEquals(0.5, KtoLoss.loss(cfg, true, -4 + 0.5 + LN3, -4, z), 1e-15);
        assertEquals(0.125, KtoLoss.loss(cfg, false, -6 + 0.5 - LN3, -6, z), 1e-15);
        assertTraining(cfg, new float[]{(float) (-4 + 0.5 + LN3), (float) (-6 + 0.5 - LN3)}, new float[]{-4, -6},
                new boolean[]{true, false}, new float[]{-8, -12}, new float[]{-10, -11}, 0.625, new double[]{-3.0 / 8, 3.0 / 32});
    }

    /**
     * KL rows whose mean log-ratio is -1.5 (2 and -5): the estimate is clamped to 0, so a desirable row with log-ratio
     * ln 3 costs 1 - 3/4 and an undesirable one with log-ratio 0 costs 1 - σ(0) = 1/2 (beta 1, weights 1).
     */
    @Test
    void aNegativeKlEstimateIsClampedToZero() {
        KtoConfig cfg = new KtoConfig(1, 1, 1);
        assertEquals(0, KtoLoss.klEstimate(new double[]{-8, -15}, new double[]{-10, -10}), 0);
        assertTraining(cfg, new float[]{(float) (-3 + LN3), -7}, new float[]{-3, -7}, new boolean[]{true, false},
                new float[]{-8, -15}, new float[]{-10, -10}, 0.25 + 0.5, new double[]{-3.0 / 16, 1.0 / 4});
    }

    /** kto.json's micro-batches: TRL's mean loss and its gradient, computed by torch in float64. */
    @Test
    void matchesTrlsLossInTorch() {
        JsonNode fixture = TrainTestSupport.json(TrainTestSupport.resource("llama/kto.json"));
        JsonNode kto = fixture.get("kto");
        KtoConfig cfg = new KtoConfig(kto.get("beta").asDouble(), kto.get("desirable_weight").asDouble(),
                kto.get("undesirable_weight").asDouble());
        for (JsonNode c : fixture.get("formula_cases")) {
            int n = c.get("policy").size();
            double[] policyKl = doubles(c.get("policy_kl"));
            double[] referenceKl = doubles(c.get("reference_kl"));
            double z = KtoLoss.klEstimate(policyKl, referenceKl);
            assertEquals(c.get("kl").asDouble(), z, 1e-12);
            boolean[] desirable = new boolean[n];
            double mean = 0;
            double[] gradient = new double[n];
            for (int i = 0; i < n; i++) {
                desirable[i] = c.get("desirable").get(i).asBoolean();
                mean += KtoLoss.loss(cfg, desirable[i], c.get("policy").get(i).asDouble(),
                        c.get("reference").get(i).asDouble(), z) / n;
                // the fixture's gradient is of the mean, the training form's of the sum
                gradient[i] = c.get("dloss_dpolicy").get(i).asDouble() * n;
                assertEquals(gradient[i], KtoLoss.dLossDPolicy(cfg, desirable[i], c.get("policy").get(i).asDouble(),
                        c.get("reference").get(i).asDouble(), z), 1e-12, "dLoss/dp of row " + i);
            }
            assertEquals(c.get("loss").asDouble(), mean, 1e-12);
            assertTraining(cfg, floats(c.get("policy")), floats(c.get("reference")), desirable, floats(c.get("policy_kl")),
                    floats(c.get("reference_kl")), mean * n, gradient);
        }
    }

    /**
     * Two desirable rows and one undesirable, beta 0.5: log-ratios 2, -1 (desirable) and 4 (undesirable), so rewards
     * 1 and -0.5 (sum 0.5) and 2; policy log-probabilities -3, -6 and -1; the KL estimate 0.25 over 3 rows.
     */
    @Test
    void metricSumsOfAHandWorkedBatch() {
        KtoConfig cfg = new KtoConfig(0.5, 1, 1);
        for (Precision precision : Precision.values()) {
            try (var scope = TensorScope.open(); var mode = precision.use()) {
                Tensor policy = Tensor.of(new float[]{-3, -6, -1}, 3).requiresGrad(true);
                Map<String, Tensor> sums = KtoLoss.metricSums(cfg, policy, Tensor.of(new float[]{-5, -5, -5}, 3),
                        Tensor.of(new float[]{1, 1, 0}, 3), Tensor.of(new float[]{0.25f}, 1));
                Map<String, Double> values = new LinkedHashMap<>();
                sums.forEach((name, t) -> {
                    assertFalse(t.requiresGrad(), name + " must not record autograd");
                    values.put(name, (double) t.toFloatArray()[0]);
                });
                assertEquals(Map.of("rewards/chosen_sum", 0.5, "rewards/rejected_sum", 2.0, "logps/chosen_sum", -9.0,
                        "logps/rejected_sum", -1.0, "count/chosen", 2.0, "count/rejected", 1.0, "kl", 0.75), values,
                        precision.toString());
                assertEquals(Map.of("rewards/chosen", 0.25, "rewards/rejected", 2.0, "rewards/margins", -1.75,
                        "logps/chosen", -4.5, "logps/rejected", -1.0, "kl", 0.25), KtoLoss.metrics(values, 3));
            }
        }
    }

    /** TRL logs the rewards of a side only when the step had rows of it. */
    @Test
    void aSideWithoutRowsHasNoMetrics() {
        Map<String, Double> sums = Map.of("rewards/chosen_sum", 0.0, "rewards/rejected_sum", -1.0, "logps/chosen_sum", 0.0,
                "logps/rejected_sum", -20.0, "count/chosen", 0.0, "count/rejected", 2.0, "kl", 0.5);
        assertEquals(Map.of("rewards/rejected", -0.5, "logps/rejected", -10.0, "kl", 0.25), KtoLoss.metrics(sums, 2));
    }

    @Test
    void theConfigurationRefusesValuesOutOfRangeNamingThem() {
        assertEquals(new KtoConfig(0.1, 1, 1), KtoConfig.defaults());
        assertEquals(new KtoConfig(0.5, 1.33, 1), KtoConfig.defaults().withBeta(0.5).withWeights(1.33, 1));
        IllegalArgumentException beta = assertThrows(IllegalArgumentException.class, () -> new KtoConfig(0, 1, 1));
        assertTrue(beta.getMessage().contains("beta must be a finite number > 0, got 0.0"), beta.getMessage());
        IllegalArgumentException weight = assertThrows(IllegalArgumentException.class,
                () -> KtoConfig.defaults().withWeights(1, Double.NaN));
        assertTrue(weight.getMessage().startsWith("undesirableWeight must be a finite number > 0, got NaN"), weight.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KtoConfig.defaults().withWeights(-1, 1));
    }

    /**
     * TRL's weight advice for 30 desirable and 10 undesirable rows: desirableWeight in [10/30, 1.33 x 10/30] = [0.33,
     * 0.44] or undesirableWeight in [3/1.33, 3] = [2.26, 3.0]; nothing when one weight is in its range or the counts
     * are equal.
     */
    @Test
    void weightAdviceFollowsTheKtoPapersRange() {
        assertEquals("the data has 30 desirable and 10 undesirable rows, and the weights (desirableWeight 1.0, "
                        + "undesirableWeight 1.0) are outside the KTO paper's range: set EITHER desirableWeight in "
                        + "[0.33, 0.44] OR undesirableWeight in [2.26, 3.0], not both",
                KtoConfig.defaults().weightAdvice(30, 10).orElseThrow());
        assertTrue(KtoConfig.defaults().withWeights(1, 2.5).weightAdvice(30, 10).isEmpty());
        assertTrue(KtoConfig.defaults().withWeights(0.4, 1).weightAdvice(30, 10).isEmpty());
        assertTrue(KtoConfig.defaults().weightAdvice(12, 12).isEmpty());
    }

    /**
     * The training form under each precision: the loss sum and its gradient with respect to the policy's
     * log-probabilities, against the expected values (float32 rounding: 1e-6 relative for the loss, 1e-5 for the gradient).
     */
    private static void assertTraining(KtoConfig cfg, float[] policy, float[] reference, boolean[] desirable,
                                       float[] policyKl, float[] referenceKl, double expectedSum, double[] expectedGradient) {
        int n = policy.length;
        float[] labels = new float[n];
        for (int i = 0; i < n; i++) {
            labels[i] = desirable[i] ? 1 : 0;
        }
        for (Precision precision : Precision.values()) {
            try (var scope = TensorScope.open(); var mode = precision.use()) {
                Tensor p = Tensor.of(policy, n).requiresGrad(true);
                Tensor kl = KtoLoss.klEstimate(Tensor.of(policyKl, policyKl.length), Tensor.of(referenceKl, referenceKl.length));
                assertFalse(kl.requiresGrad(), "the KL estimate is detached");
                Tensor loss = KtoLoss.lossSum(cfg, p, Tensor.of(reference, n), Tensor.of(labels, n), kl);
                assertEquals(expectedSum, loss.toFloatArray()[0], 1e-6 * Math.max(1, Math.abs(expectedSum)), precision + " loss");
                Autograd.backward(loss);
                float[] g = p.grad().toFloatArray();
                for (int i = 0; i < n; i++) {
                    assertEquals(expectedGradient[i], g[i], 1e-5 * Math.max(1e-3, Math.abs(expectedGradient[i])),
                            precision + " dLoss/dp of row " + i);
                }
            }
        }
    }

    private static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asDouble();
        }
        return out;
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }
}
