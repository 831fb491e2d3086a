package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class OptimizersTest {

    private static Tensor param(TensorScope scope, float[] values, float[] grad) {
        Tensor p = Tensor.of(scope, values, values.length).requiresGrad(true);
        p.setGrad(Tensor.of(scope, grad, grad.length));
        return p;
    }

    @Test
    void adamWFollowsTheDecoupledUpdateStepByStep() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = param(scope, new float[]{1f, -2f, 0.5f}, new float[]{0.1f, -0.3f, 0.0f});
            AdamW opt = new AdamW(Map.of("w", p), 0.01, 0.9, 0.999, 1e-8, 0.1);
            // Hand-derived, in double: step t with constant gradient g.
            double[] w = {1, -2, 0.5};
            double[] g = {0.1, -0.3, 0.0};
            double[] m = new double[3];
            double[] v = new double[3];
            for (int t = 1; t <= 3; t++) {
                opt.step();
                for (int i = 0; i < 3; i++) {
                    w[i] *= 1 - 0.01 * 0.1;
                    m[i] = 0.9 * m[i] + 0.1 * g[i];
                    v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                    double mHat = m[i] / (1 - Math.pow(0.9, t));
                    double vHat = v[i] / (1 - Math.pow(0.999, t));
                    w[i] -= 0.01 * mHat / (Math.sqrt(vHat) + 1e-8 * 1);
                }
                float[] got = p.toFloatArray();
                for (int i = 0; i < 3; i++) {
                    assertEquals(w[i], got[i], 1e-6, "step " + t + " element " + i);
                }
            }
            // First step moves each weight by about lr against the gradient's sign (Adam's unit step).
            assertEquals(3, opt.steps());
        }
    }

    @Test
    void adamWStateRoundTripsForResume() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor a = param(scope, new float[]{1f, 2f}, new float[]{0.5f, -0.5f});
            Tensor b = param(scope, new float[]{1f, 2f}, new float[]{0.5f, -0.5f});
            AdamW first = new AdamW(Map.of("w", a), 0.1, 0.9, 0.999, 1e-8, 0.0);
            first.step();
            AdamW second = new AdamW(Map.of("w", b), 0.1, 0.9, 0.999, 1e-8, 0.0);
            second.step();
            AdamW resumed = new AdamW(Map.of("w", b), 0.1, 0.9, 0.999, 1e-8, 0.0);
            resumed.importState(second.exportState(), second.steps());
            first.step();
            resumed.step();
            assertArrayEquals(a.toFloatArray(), b.toFloatArray());
        }
    }

    @Test
    void sgdWithMomentumAndNesterovMatchesTorchFormulas() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = param(scope, new float[]{1f}, new float[]{0.5f});
            Sgd opt = new Sgd(Map.of("w", p), 0.1, 0.9, 0.0, true, 0.01);
            // step 1: d = 0.5 + 0.01*1 = 0.51; buf = 0.51; nesterov d = 0.51 + 0.9*0.51 = 0.969; w = 1 - 0.0969
            opt.step();
            assertEquals(0.9031, p.toFloatArray()[0], 1e-6);
            // step 2: d = 0.5 + 0.009031 = 0.509031; buf = 0.9*0.51 + 0.509031 = 0.968031;
            // d = 0.509031 + 0.9*0.968031 = 1.3802589; w = 0.9031 - 0.13802589
            opt.step();
            assertEquals(0.76507411, p.toFloatArray()[0], 1e-6);
            assertThrows(IllegalArgumentException.class, () -> new Sgd(Map.of("w", p), 0.1, 0.0, 0.0, true, 0));
        }
    }

    @Test
    void schedulesMatchHuggingFaceMultipliers() {
        LrSchedule linear = new LrSchedule(LrSchedule.Type.LINEAR, 10, 110);
        assertEquals(0.0, linear.multiplier(0));
        assertEquals(0.5, linear.multiplier(5));
        assertEquals(1.0, linear.multiplier(10));
        assertEquals(0.5, linear.multiplier(60));
        assertEquals(0.0, linear.multiplier(110));
        LrSchedule cosine = new LrSchedule(LrSchedule.Type.COSINE, 0, 100);
        assertEquals(1.0, cosine.multiplier(0), 1e-12);
        assertEquals(0.5, cosine.multiplier(50), 1e-12);
        assertEquals(0.0, cosine.multiplier(100), 1e-12);
        assertEquals(1.0, new LrSchedule(LrSchedule.Type.CONSTANT, 4, 10).multiplier(7));
        assertEquals(0.25, new LrSchedule(LrSchedule.Type.CONSTANT, 4, 10).multiplier(1));
    }

    @Test
    void clippingScalesToTheMaximumNormAndReportsThePreviousNorm() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor a = param(scope, new float[]{0, 0}, new float[]{3f, 0f});
            Tensor b = param(scope, new float[]{0}, new float[]{4f});
            double norm = GradientClipping.clipGlobalNorm(List.of(a, b), 1.0);
            assertEquals(5.0, norm, 1e-9);
            assertEquals(1.0, GradientClipping.globalNorm(List.of(a, b)), 1e-6);
            assertEquals(0.6f, a.grad().toFloatArray()[0], 1e-6);
            double small = GradientClipping.clipGlobalNorm(List.of(a, b), 10.0);
            assertEquals(1.0, small, 1e-6);
            assertEquals(0.6f, a.grad().toFloatArray()[0], 1e-6);
        }
    }

    @Test
    void rejectsNonFloatParameters() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor ids = Tensor.zeros(scope, DType.I64, Shape.of(2));
            assertThrows(IllegalArgumentException.class, () -> new AdamW(Map.of("ids", ids), 0.1, 0.9, 0.999, 1e-8, 0));
        }
    }
}
