package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.finetune4j.core.optim.Params.param;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SgdTest {

    @Test
    void plainSgdStepsAgainstTheGradient() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = param(scope, new float[]{1f, -1f}, new float[]{0.5f, -2f});
            new Sgd(Map.of("w", p), SgdConfig.of(0.1)).step();
            // 1 - 0.1 * 0.5 = 0.95; -1 + 0.1 * 2 = -0.8
            assertArrayEquals(new float[]{0.95f, -0.8f}, p.toFloatArray(), 1e-7f);
        }
    }

    @Test
    void momentumWithDampeningStartsTheBufferAtTheGradient() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = param(scope, new float[]{1f}, new float[]{0.5f});
            Sgd opt = new Sgd(Map.of("w", p), new SgdConfig(0.1, 0.9, 0.5, false, 0));
            opt.step();
            // buf = g = 0.5 (no dampening on the first step); w = 1 - 0.1 * 0.5 = 0.95
            assertEquals(0.95, p.toFloatArray()[0], 1e-7);
            opt.step();
            // buf = 0.9 * 0.5 + 0.5 * 0.5 = 0.7; w = 0.95 - 0.07 = 0.88
            assertEquals(0.88, p.toFloatArray()[0], 1e-7);
        }
    }

    @Test
    void nesterovWithWeightDecayMatchesTorchFormulas() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = param(scope, new float[]{1f}, new float[]{0.5f});
            Sgd opt = new Sgd(Map.of("w", p), new SgdConfig(0.1, 0.9, 0.0, true, 0.01));
            // step 1: d = 0.5 + 0.01*1 = 0.51; buf = 0.51; nesterov d = 0.51 + 0.9*0.51 = 0.969; w = 1 - 0.0969
            opt.step();
            assertEquals(0.9031, p.toFloatArray()[0], 1e-6);
            // step 2: d = 0.5 + 0.009031 = 0.509031; buf = 0.9*0.51 + 0.509031 = 0.968031;
            // d = 0.509031 + 0.9*0.968031 = 1.3802589; w = 0.9031 - 0.13802589
            opt.step();
            assertEquals(0.76507411, p.toFloatArray()[0], 1e-6);
        }
    }

    @Test
    void resumeRestoresTheMomentumBuffer() {
        try (TensorScope scope = TensorScope.detached()) {
            SgdConfig config = new SgdConfig(0.1, 0.9, 0, false, 0);
            Tensor straight = param(scope, new float[]{1f}, new float[]{0.5f});
            Tensor resumed = param(scope, new float[]{1f}, new float[]{0.5f});
            Sgd uninterrupted = new Sgd(Map.of("w", straight), config);
            Sgd beforeCrash = new Sgd(Map.of("w", resumed), config);
            uninterrupted.step();
            uninterrupted.step();
            beforeCrash.step();
            Sgd afterRestart = new Sgd(Map.of("w", resumed), config);
            afterRestart.importState(beforeCrash.exportState());
            afterRestart.step();
            assertArrayEquals(straight.toFloatArray(), resumed.toFloatArray(), 0f);
        }
    }

    @Test
    void withoutMomentumTheExportedBufferStaysZero() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = param(scope, new float[]{1f, 2f}, new float[]{0.5f, -2f});
            try (Sgd opt = new Sgd(Map.of("w", p), new SgdConfig(0.1, 0, 0, false, 0.5))) {
                opt.step();
                // d = g + 0.5 p = (1, -1); w = p - 0.1 d
                assertArrayEquals(new float[]{0.9f, 2.1f}, p.toFloatArray(), 1e-7f);
                assertArrayEquals(new float[2], opt.exportState().slots().get("w.momentum_buffer"), 0f);
            }
        }
    }

    @Test
    void nesterovNeedsMomentumWithoutDampening() {
        assertThrows(IllegalArgumentException.class, () -> new SgdConfig(0.1, 0.0, 0.0, true, 0));
        assertThrows(IllegalArgumentException.class, () -> new SgdConfig(0.1, 0.9, 0.1, true, 0));
        assertThrows(IllegalArgumentException.class, () -> new SgdConfig(0.1, -0.9, 0, false, 0));
    }
}
