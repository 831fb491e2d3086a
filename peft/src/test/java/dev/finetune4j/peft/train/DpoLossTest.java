package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The training form of the DPO losses (tensor ops on the device) against the scalar formulas in double: value and
 * gradient for each loss type, at h = 0 (DPO's first step), for a large |beta h| where a naive log(sigmoid) would
 * overflow, and under bf16 mixed precision (the loss stays float32).
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

    private static void check(DpoConfig cfg, Precision precision) {
        int n = PAIRS.length;
        float[] p = new float[2 * n];
        double[] rc = new double[n];
        double[] rr = new double[n];
        double expected = 0;
        for (int i = 0; i < n; i++) {
            p[i] = (float) PAIRS[i][0];
            p[n + i] = (float) PAIRS[i][1];
            rc[i] = PAIRS[i][2];
            rr[i] = PAIRS[i][3];
            expected += DpoLoss.loss(cfg, p[i], p[n + i], rc[i], rr[i]);
        }
        try (var scope = TensorScope.open(); var mode = precision.use()) {
            Tensor policy = Tensor.of(p, 2 * n).requiresGrad(true);
            Tensor loss = DpoLoss.lossSum(cfg, policy, rc, rr);
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
