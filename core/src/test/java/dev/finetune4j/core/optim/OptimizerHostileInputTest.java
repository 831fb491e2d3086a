package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static dev.finetune4j.core.optim.Params.param;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Refused steps change nothing; refused states and settings say which value was wrong. */
class OptimizerHostileInputTest {

    @Test
    void aStepRefusedForABadGradientChangesNoParameterAndNoCount() {
        List<Function<Map<String, Tensor>, Optimizer>> optimizers = List.of(
                ps -> new AdamW(ps, new AdamWConfig(0.1, 0.9, 0.999, 1e-8, 0)), ps -> new Sgd(ps, SgdConfig.of(0.1)));
        for (var make : optimizers) {
            try (TensorScope scope = TensorScope.detached(); var step = TensorScope.open()) {
                Tensor a = param(scope, new float[]{1f, 2f}, new float[]{0.5f, -0.5f});
                Tensor b = param(scope, new float[]{1f, 2f}, null);
                // a bf16 gradient passes setGrad (shape and device match) but is no float32 gradient to step with
                b.setGrad(Tensor.of(scope, new float[]{0.5f, 0.5f}, 2).convertTo(DType.BF16, scope));
                Map<String, Tensor> params = new LinkedHashMap<>();
                params.put("a", a);
                params.put("b", b);
                try (Optimizer opt = make.apply(params)) {
                    var e = assertThrows(IllegalStateException.class, opt::step);
                    assertTrue(e.getMessage().contains("'b'"), e.getMessage());
                    assertThrows(IllegalStateException.class, () -> opt.step(UpdateGate.of(params.values(),
                            Tensor.of(new float[]{1f}, 1), 0)));
                    assertArrayEquals(new float[]{1f, 2f}, a.toFloatArray(), 0f, "a was not updated");
                    assertEquals(0, opt.steps());
                    assertEquals(Map.of("a", 0L, "b", 0L), opt.exportState().parameterSteps());
                    b.setGrad(Tensor.of(scope, new float[]{0.5f, 0.5f}, 2));
                    opt.step();
                    // SGD: p - 0.1 g; AdamW's first step: p - lr * g / (|g| + eps), which is p - 0.1 sign(g) here
                    assertArrayEquals(opt instanceof Sgd ? new float[]{0.95f, 2.05f} : new float[]{0.9f, 2.1f},
                            a.toFloatArray(), 1e-6f);
                    assertEquals(Map.of("a", 1L, "b", 1L), opt.exportState().parameterSteps());
                }
            }
        }
    }

    @Test
    void stateForParametersOrSlotsTheOptimizerDoesNotHoldIsRefused() {
        try (TensorScope scope = TensorScope.detached();
             AdamW opt = new AdamW(Map.of("w", param(scope, new float[]{1f, 2f}, null)), AdamWConfig.of(0.1))) {
            Map<String, float[]> slots = new HashMap<>(Map.of("w.exp_avg", new float[2], "w.exp_avg_sq", new float[2]));
            assertDoesNotThrow(() -> opt.importState(new OptimizerState(3, Map.of("w", 3L), slots)));
            var count = assertThrows(IllegalArgumentException.class,
                    () -> opt.importState(new OptimizerState(3, Map.of("w", 3L, "other", 3L), slots)));
            assertTrue(count.getMessage().contains("'other'"), count.getMessage());
            slots.put("w.momentum_buffer", new float[2]);
            var slot = assertThrows(IllegalArgumentException.class,
                    () -> opt.importState(new OptimizerState(3, Map.of("w", 3L), slots)));
            assertTrue(slot.getMessage().contains("'w.momentum_buffer'"), slot.getMessage());
        }
    }

    @Test
    void countsOutsideTheRunAndMissingSlotsAreRefusedByName() {
        Map<String, float[]> slots = Map.of("w.exp_avg", new float[2]);
        for (long bad : new long[]{-5, 4}) {
            var e = assertThrows(IllegalArgumentException.class, () -> new OptimizerState(3, Map.of("w", bad), slots));
            assertTrue(e.getMessage().contains("'w' has " + bad + " updates, outside [0, 3]"), e.getMessage());
        }
        Map<String, float[]> nullSlot = new HashMap<>();
        nullSlot.put("w.exp_avg", null);
        var e = assertThrows(IllegalArgumentException.class, () -> new OptimizerState(3, Map.of("w", 3L), nullSlot));
        assertTrue(e.getMessage().contains("'w.exp_avg'"), e.getMessage());
    }

    @Test
    void positiveSettingsThatFloat32RoundsToZeroAreRefusedByName() {
        // eps 1e-50 is 0 in float32: 0 / 0 where a gradient is 0; maxNorm 1e-300 is 0 there, which zeroes every
        // gradient (clipGlobalNorm) or turns clipping off (UpdateGate)
        assertRefused(() -> new AdamWConfig(0.1, 0.9, 0.999, 1e-50, 0), "AdamW eps must be finite and > 0");
        try (TensorScope scope = TensorScope.open()) {
            Tensor p = param(scope, new float[]{1f, 2f}, new float[]{3f, 4f});
            assertRefused(() -> GradientClipping.clipGlobalNorm(List.of(p), 1e-300), "maxNorm must be finite and > 0");
            assertArrayEquals(new float[]{3f, 4f}, p.grad().toFloatArray(), 0f, "the gradients stay as they were");
            assertRefused(() -> UpdateGate.of(List.of(p), Tensor.of(new float[]{1f}, 1), 1e-300), "maxNorm");
            // the smallest float32 still counts
            assertDoesNotThrow(() -> new AdamWConfig(0.1, 0.9, 0.999, Float.MIN_VALUE, 0));
            assertDoesNotThrow(() -> UpdateGate.of(List.of(p), Tensor.of(new float[]{1f}, 1), 0));
        }
    }

    @Test
    void configRefusalsNameTheValueThatIsWrong() {
        assertRefused(() -> new AdamWConfig(0.1, 0.9, 1.0, 1e-8, 0), "AdamW beta2 must be in [0, 1), got 1.0");
        assertRefused(() -> new AdamWConfig(0.1, 0.9, 0.999, 1e-8, -1),
                "AdamW weightDecay must be finite and >= 0, got -1.0");
        assertRefused(() -> new SgdConfig(0.1, 0.9, -1, false, 0), "SGD dampening must be finite and >= 0, got -1.0");
        assertRefused(() -> new SgdConfig(0.1, 0, 0, false, Double.NaN), "SGD weightDecay must be finite and >= 0");
    }

    private static void assertRefused(Executable creation, String expected) {
        var e = assertThrows(IllegalArgumentException.class, creation);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
