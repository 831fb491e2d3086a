package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ORPO's and SimPO's tensor loss on given token log-probabilities: a pair worked by hand for each, the gradient
 * against central differences, log(1 - e^x) near 0 where the direct formula loses float32's digits, and the
 * configurations' checks.
 */
class ReferenceFreeLossTest {
    private static final double LN2 = Math.log(2);

    /**
     * One pair, T = 3. Chosen row: the prompt's second token at log p = -(6 - 2 ln 2), then two response tokens at
     * ln 1/2 each; rejected row: two response tokens at ln 1/4 each. Averages: c = ln 1/2, r = ln 1/4.
     */
    private static final float[] LOG_PROBS = {(float) -(6 - 2 * LN2), (float) -LN2, (float) -LN2,
            0, (float) -(2 * LN2), (float) -(2 * LN2)};
    private static final float[] RESPONSE_WEIGHTS = {0, 0.5f, 0.5f, 0, 0.5f, 0.5f};

    /**
     * ORPO, beta 0.1: odds(chosen) = (1/2) / (1/2) = 1, odds(rejected) = (1/4) / (3/4) = 1/3, so the log odds ratio is
     * ln 3 and log σ(ln 3) = ln 3/4. The NLL over all three chosen positions (ORPO reads the prompt) is
     * (6 - 2 ln 2 + 2 ln 2) / 3 = 2. Loss = 2 - 0.1 ln 3/4.
     */
    @Test
    void orpoOfAPairWorkedByHand() {
        Map<String, Double> metrics = new HashMap<>();
        double loss = lossAndMetrics(new OrpoConfig(0.1), LOG_PROBS, 3, metrics);
        assertEquals(2 - 0.1 * Math.log(0.75), loss, 1e-6);
        assertEquals(Map.of("rewards/chosen", -0.1 * LN2, "rewards/rejected", -0.2 * LN2, "rewards/margins", 0.1 * LN2,
                "rewards/accuracies", 1.0, "logps/chosen", -LN2, "logps/rejected", -2 * LN2, "nll_loss", 2.0,
                "log_odds_ratio", Math.log(0.75), "log_odds_chosen", Math.log(3)).keySet(), metrics.keySet());
        assertEquals(-0.1 * LN2, metrics.get("rewards/chosen"), 1e-7);
        assertEquals(-0.2 * LN2, metrics.get("rewards/rejected"), 1e-7);
        assertEquals(0.1 * LN2, metrics.get("rewards/margins"), 1e-7);
        assertEquals(1.0, metrics.get("rewards/accuracies"));
        assertEquals(-LN2, metrics.get("logps/chosen"), 1e-6);
        assertEquals(-2 * LN2, metrics.get("logps/rejected"), 1e-6);
        assertEquals(2.0, metrics.get("nll_loss"), 1e-6);
        assertEquals(Math.log(0.75), metrics.get("log_odds_ratio"), 1e-6);
        assertEquals(Math.log(3), metrics.get("log_odds_chosen"), 1e-6);
    }

    /**
     * SimPO, beta 2, gamma 1, cpoAlpha 0.5: x = 2 ((ln 1/2 - ln 1/4) - 1/2) = 2 ln 2 - 1, -log σ(x) = ln(1 + e/4). The
     * NLL reads the chosen response only (CPO masks the prompt; the row is labelled there alone): ln 2. Loss =
     * ln(1 + e/4) + 0.5 ln 2. With cpoAlpha 0 the NLL is neither added nor logged.
     */
    @Test
    void simpoOfAPairWorkedByHand() {
        float[] responseOnly = LOG_PROBS.clone();
        responseOnly[0] = 0;
        Map<String, Double> metrics = new HashMap<>();
        double loss = lossAndMetrics(new SimpoConfig(2, 1, 0.5, 0), responseOnly, 2, metrics);
        assertEquals(Math.log(1 + Math.E / 4) + 0.5 * LN2, loss, 1e-6);
        assertEquals(LN2, metrics.get("nll_loss"), 1e-6);
        assertEquals(2 * LN2, metrics.get("rewards/margins"), 1e-6);
        assertFalse(metrics.containsKey("log_odds_ratio"), "log odds are ORPO's");

        metrics.clear();
        // label smoothing 0.25: 0.75 ln(1 + e/4) + 0.25 ln(1 + 4/e)
        double smoothed = lossAndMetrics(new SimpoConfig(2, 1, 0, 0.25), responseOnly, 2, metrics);
        assertEquals(0.75 * Math.log(1 + Math.E / 4) + 0.25 * Math.log(1 + 4 / Math.E), smoothed, 1e-6);
        assertFalse(metrics.containsKey("nll_loss"), "TRL computes no NLL when cpo_alpha is 0");
    }

    /** d loss / d log p of every position against central differences of the same loss, for each method. */
    @Test
    void gradientsMatchFiniteDifferences() {
        // two pairs of different lengths, T = 4; the first row of each half has a prompt position (ORPO's NLL)
        float[] logProbs = {-2.5f, -0.7f, -1.9f, -0.4f, -1.2f, -0.3f, 0, 0,
                0, -3.1f, -0.2f, -2.2f, 0, -0.9f, -1.6f, -0.5f};
        float[] weights = {0, 1 / 3f, 1 / 3f, 1 / 3f, 0, 1, 0, 0,
                0, 1 / 3f, 1 / 3f, 1 / 3f, 0, 1 / 3f, 1 / 3f, 1 / 3f};
        for (ReferenceFreeConfig cfg : List.of(new OrpoConfig(0.1), new OrpoConfig(2), SimpoConfig.defaults(),
                new SimpoConfig(2.5, 1.25, 0, 0.1))) {
            float[] analytic;
            try (var scope = TensorScope.open()) {
                Tensor x = Tensor.of(logProbs, 4, 4).requiresGrad(true);
                Autograd.backward(ReferenceFreeLoss.of(cfg, x, Tensor.of(weights, 4, 4), 5).sum());
                analytic = x.grad().toFloatArray();
            }
            double h = 1e-2;
            for (int i = 0; i < logProbs.length; i++) {
                float[] up = logProbs.clone();
                float[] down = logProbs.clone();
                up[i] += (float) h;
                down[i] -= (float) h;
                double numeric = (sum(cfg, up, weights) - sum(cfg, down, weights)) / (2 * h);
                assertEquals(numeric, analytic[i], 2e-3 * Math.max(1, Math.abs(numeric)), cfg + " position " + i);
            }
        }
    }

    /**
     * log(1 - e^x) for x from -1e-6 to -40 within float32's precision of the exact value, where the direct
     * log(1 - e^x) in float32 is off by up to 5% near 0; its gradient is -e^x / (1 - e^x).
     */
    @Test
    void log1mexpKeepsItsDigitsNearZero() {
        double[] xs = {-1e-6, -1e-4, -0.01, -0.5, -0.6931, -2, -10, -40};
        float[] values = new float[xs.length];
        for (int i = 0; i < xs.length; i++) {
            values[i] = (float) xs[i];
        }
        try (var scope = TensorScope.open(); var f32 = Precision.F32.use()) {
            Tensor x = Tensor.of(values, xs.length).requiresGrad(true);
            Tensor y = ReferenceFreeLoss.log1mexp(x);
            float[] out = y.toFloatArray();
            Autograd.backward(Reductions.sum(y));
            float[] grad = x.grad().toFloatArray();
            for (int i = 0; i < xs.length; i++) {
                double v = values[i]; // the float32 input, exactly
                double exact = Math.log(-Math.expm1(v));
                assertEquals(exact, out[i], 1e-6 * Math.max(1, Math.abs(exact)), "log(1 - e^x) at " + v);
                double slope = -Math.exp(v) / -Math.expm1(v);
                assertEquals(slope, grad[i], 1e-5 * Math.max(1, Math.abs(slope)), "its derivative at " + v);
            }
            float direct = (float) Math.log(1f - (float) Math.exp(values[0]));
            assertTrue(Math.abs(direct - Math.log(-Math.expm1(values[0]))) > 1e-3,
                    "the direct formula at -1e-6 should lose its digits in float32 (else this test proves nothing)");
        }
    }

    @Test
    void configurationsRejectOutOfRangeValuesNamingTheField() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new OrpoConfig(0)).getMessage()
                .contains("ORPO beta must be a finite number > 0.0, got 0.0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new OrpoConfig(Double.NaN)).getMessage()
                .contains("got NaN"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new SimpoConfig(0.1, -1, 0, 0)).getMessage()
                .contains("SimPO simpoGamma must be a finite number >= 0.0, got -1.0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new SimpoConfig(0.1, 0.5, -0.5, 0)).getMessage()
                .contains("SimPO cpoAlpha"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new SimpoConfig(0.1, 0.5, 0, 0.5)).getMessage()
                .contains("SimPO labelSmoothing must be in [0, 0.5), got 0.5"));
        assertEquals(new SimpoConfig(0.1, 0.5, 1.0, 0), SimpoConfig.defaults(), "TRL's CPOConfig defaults");
        assertEquals(0.1, OrpoConfig.defaults().beta(), "TRL's ORPOConfig default");
    }

    /** TRL's loss of the N pairs (the loss sum over N) and each metric over N; metrics must not record autograd. */
    private static double lossAndMetrics(ReferenceFreeConfig cfg, float[] logProbs, long nllTokens,
                                         Map<String, Double> metrics) {
        int rows = 2;
        try (var scope = TensorScope.open()) {
            ReferenceFreeLoss.Parts parts = ReferenceFreeLoss.of(cfg, Tensor.of(logProbs, rows, logProbs.length / rows)
                    .requiresGrad(true), Tensor.of(RESPONSE_WEIGHTS, rows, RESPONSE_WEIGHTS.length / rows), nllTokens);
            parts.metricSums().forEach((k, v) -> {
                assertFalse(v.requiresGrad(), k + " must not record autograd");
                metrics.put(k, (double) v.toFloatArray()[0]);
            });
            return parts.sum().toFloatArray()[0];
        }
    }

    private static double sum(ReferenceFreeConfig cfg, float[] logProbs, float[] weights) {
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            return ReferenceFreeLoss.of(cfg, Tensor.of(logProbs, 4, 4), Tensor.of(weights, 4, 4), 5).sum().toFloatArray()[0];
        }
    }
}
