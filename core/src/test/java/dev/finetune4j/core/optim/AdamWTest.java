package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static dev.finetune4j.core.optim.Params.param;
import static dev.finetune4j.core.optim.Params.setGrad;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdamWTest {
    private static final AdamWConfig CONFIG = new AdamWConfig(0.01, 0.9, 0.999, 1e-8, 0.1);

    @Test
    void firstStepMovesByAboutTheLearningRateAfterDecay() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = param(scope, new float[]{1f, -2f, 0.5f}, new float[]{0.1f, -0.3f, 0f});
            new AdamW(Map.of("w", p), CONFIG).step();
            // m = 0.1 g, v = 0.001 g^2; m / (1 - 0.9) = g, sqrt(v / (1 - 0.999)) = |g|, so the update is lr * g / (|g| + eps)
            // w0 = 1:    1 * (1 - 0.01 * 0.1) - 0.01 * 0.1 / (0.1 + 1e-8)  = 0.999 - 0.0099999999 = 0.9890000001
            // w0 = -2:  -2 * 0.999 + 0.01 * 0.3 / (0.3 + 1e-8)            = -1.998 + 0.0099999997 = -1.9880000003
            // w0 = 0.5: 0.5 * 0.999 - 0 (zero gradient: m = 0)               = 0.4995
            assertArrayEquals(new float[]{0.9890000001f, -1.9880000003f, 0.4995f}, p.toFloatArray(), 1e-6f);
        }
    }

    @Test
    void threeStepsWithChangingGradientsMatchTheFormulaInDouble() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = param(scope, new float[]{1f, -2f, 0.5f}, new float[3]);
            AdamW opt = new AdamW(Map.of("w", p), CONFIG);
            double[][] grads = {{0.1, -0.3, 0.0}, {-0.2, -0.1, 0.05}, {0.4, 0.2, -0.05}};
            double[] w = {1, -2, 0.5};
            double[] m = new double[3];
            double[] v = new double[3];
            for (int t = 1; t <= 3; t++) {
                double[] g = grads[t - 1];
                setGrad(p, (float) g[0], (float) g[1], (float) g[2]);
                opt.step();
                for (int i = 0; i < 3; i++) {
                    w[i] *= 1 - 0.01 * 0.1;
                    m[i] = 0.9 * m[i] + 0.1 * g[i];
                    v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                    double denom = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(0.999, t)) + 1e-8;
                    w[i] -= 0.01 / (1 - Math.pow(0.9, t)) * m[i] / denom;
                }
                float[] got = p.toFloatArray();
                for (int i = 0; i < 3; i++) {
                    assertEquals(w[i], got[i], 1e-6, "step " + t + " element " + i);
                }
            }
            assertEquals(3, opt.steps());
        }
    }

    @Test
    void aParameterWithoutGradientKeepsItsOwnStepCount() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor a = param(scope, new float[]{1f}, new float[]{0.5f});
            Tensor late = param(scope, new float[]{1f}, null);
            Map<String, Tensor> params = new LinkedHashMap<>();
            params.put("a", a);
            params.put("late", late);
            AdamW opt = new AdamW(params, new AdamWConfig(0.1, 0.9, 0.999, 1e-8, 0));
            opt.step();
            assertEquals(1f, late.toFloatArray()[0], "no gradient, no update (not even weight decay)");
            late.setGrad(Tensor.of(scope, new float[]{0.5f}, 1));
            opt.step();
            // its first update: bias-corrected, so the full learning rate (as torch's per-parameter state['step'])
            assertEquals(0.9, late.toFloatArray()[0], 1e-6);
            assertEquals(Map.of("a", 2L, "late", 1L), opt.exportState().parameterSteps());
        }
    }

    @Test
    void resumeFromExportedStateIsBitExact() {
        try (TensorScope scope = TensorScope.detached()) {
            float[][] grads = {{0.5f, -0.25f}, {0.125f, 0.75f}, {-1f, 0.3f}, {0.2f, -0.6f}};
            Tensor straight = param(scope, new float[]{1f, 2f}, new float[2]);
            AdamW uninterrupted = new AdamW(Map.of("w", straight), CONFIG);
            Tensor resumed = param(scope, new float[]{1f, 2f}, new float[2]);
            AdamW beforeCrash = new AdamW(Map.of("w", resumed), CONFIG);
            for (int s = 0; s < 4; s++) {
                setGrad(straight, grads[s]);
                uninterrupted.step();
            }
            for (int s = 0; s < 2; s++) {
                setGrad(resumed, grads[s]);
                beforeCrash.step();
            }
            AdamW afterRestart = new AdamW(Map.of("w", resumed), CONFIG);
            afterRestart.importState(beforeCrash.exportState());
            for (int s = 2; s < 4; s++) {
                setGrad(resumed, grads[s]);
                afterRestart.step();
            }
            assertArrayEquals(straight.toFloatArray(), resumed.toFloatArray(), 0f);
            assertEquals(4, afterRestart.steps());
        }
    }

    @Test
    void anExportIsASnapshot() {
        try (TensorScope scope = TensorScope.detached()) {
            AdamW opt = new AdamW(Map.of("w", param(scope, new float[]{1f}, new float[]{0.5f})), CONFIG);
            opt.step();
            OptimizerState saved = opt.exportState();
            float[] moment = saved.slots().get("w.exp_avg").clone();
            opt.step();
            assertArrayEquals(moment, saved.slots().get("w.exp_avg"));
            assertEquals(1, saved.steps());
            assertEquals(Map.of("w", 1L), saved.parameterSteps());
        }
    }

    @Test
    void stateForOtherParametersIsRefusedWithTheReason() {
        try (TensorScope scope = TensorScope.detached()) {
            AdamW two = new AdamW(Map.of("w", param(scope, new float[]{1f, 2f}, new float[2])), CONFIG);
            AdamW three = new AdamW(Map.of("w", param(scope, new float[]{1f, 2f, 3f}, new float[3])), CONFIG);
            var e = assertThrows(IllegalArgumentException.class, () -> three.importState(two.exportState()));
            assertTrue(e.getMessage().contains("'w.exp_avg' with 2 values, expected 3"), e.getMessage());
            AdamW other = new AdamW(Map.of("v", param(scope, new float[]{1f, 2f}, new float[2])), CONFIG);
            assertThrows(IllegalArgumentException.class, () -> other.importState(two.exportState()));
        }
    }

    @Test
    void refusesWhatItCannotOptimize() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor bf16 = Tensor.zeros(scope, DType.BF16, Shape.of(2)).requiresGrad(true);
            var notF32 = assertThrows(IllegalArgumentException.class, () -> new AdamW(Map.of("bf16", bf16), CONFIG));
            assertTrue(notF32.getMessage().contains("'bf16' must be a contiguous F32 leaf"), notF32.getMessage());
            Tensor frozen = Tensor.of(scope, new float[]{1f}, 1);
            assertThrows(IllegalArgumentException.class, () -> new AdamW(Map.of("frozen", frozen), CONFIG));
            Tensor tied = param(scope, new float[]{1f}, new float[1]);
            Map<String, Tensor> twice = new LinkedHashMap<>();
            twice.put("embed", tied);
            twice.put("lm_head", tied);
            var e = assertThrows(IllegalArgumentException.class, () -> new AdamW(twice, CONFIG));
            assertTrue(e.getMessage().contains("same tensor"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new AdamWConfig(1e-3, 1.0, 0.999, 1e-8, 0));
            assertThrows(IllegalArgumentException.class, () -> new AdamWConfig(-1, 0.9, 0.999, 1e-8, 0));
            AdamW opt = new AdamW(Map.of("w", tied), AdamWConfig.of(1e-3));
            assertEquals(0.01, opt.config().weightDecay());
            assertThrows(IllegalArgumentException.class, () -> opt.setLearningRate(Double.NaN));
        }
    }

    @Test
    void zeroGradClearsGradientsInPlace() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = param(scope, new float[]{1f, 2f}, new float[]{3f, 4f});
            Tensor grad = p.grad();
            new AdamW(Map.of("w", p), CONFIG).zeroGrad();
            assertArrayEquals(new float[]{0f, 0f}, grad.toFloatArray());
        }
    }
}
