package dev.finetune4j.core.optim;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.finetune4j.core.optim.Params.param;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The optimizer state is device memory the optimizer owns: allocated per slot, freed by close. */
class OptimizerLifetimeTest {

    @Test
    void adamWHoldsTwoFloat32MomentsPerParameterUntilClosed() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = param(scope, new float[1000], new float[1000]);
            long before = Device.cpu().memory().allocatedBytes();
            Optimizer opt = new AdamW(Map.of("w", p), AdamWConfig.of(1e-3));
            assertEquals(2 * 1000 * Float.BYTES, Device.cpu().memory().allocatedBytes() - before, "exp_avg and exp_avg_sq");
            opt.close();
            assertEquals(before, Device.cpu().memory().allocatedBytes());
            opt.close(); // idempotent
            assertEquals(before, Device.cpu().memory().allocatedBytes());
        }
    }

    @Test
    void aClosedOptimizerRefusesToStepOrExportWithTheReason() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = param(scope, new float[]{1f}, new float[]{0.5f});
            Optimizer opt = new Sgd(Map.of("w", p), new SgdConfig(0.1, 0.9, 0, false, 0));
            opt.step();
            OptimizerState saved = opt.exportState();
            opt.close();
            var e = assertThrows(IllegalStateException.class, opt::step);
            assertTrue(e.getMessage().contains("optimizer was closed"), e.getMessage());
            assertEquals(1, opt.steps(), "a refused step is not counted");
            assertArrayEquals(new float[]{0.95f}, p.toFloatArray(), "nor applied");
            assertThrows(IllegalStateException.class, opt::exportState);
            assertThrows(IllegalStateException.class, () -> opt.importState(saved));
        }
    }

    @Test
    void stateSurvivesAnExportImportRoundTripIntoAFreshOptimizer() {
        try (TensorScope scope = TensorScope.detached();
             AdamW first = new AdamW(Map.of("w", param(scope, new float[]{1f, 2f}, new float[]{0.5f, -0.25f})),
                     AdamWConfig.of(0.1))) {
            first.step();
            OptimizerState state = first.exportState();
            // m = 0.1 g and v = 0.001 g^2 after one step, as float32 products
            assertArrayEquals(new float[]{0.1f * 0.5f, 0.1f * -0.25f}, state.slots().get("w.exp_avg"), 1e-9f);
            assertArrayEquals(new float[]{0.001f * 0.25f, 0.001f * 0.0625f}, state.slots().get("w.exp_avg_sq"), 1e-10f);
            try (AdamW second = new AdamW(Map.of("w", param(scope, new float[2], null)), AdamWConfig.of(0.1))) {
                second.importState(state);
                OptimizerState again = second.exportState();
                assertArrayEquals(state.slots().get("w.exp_avg"), again.slots().get("w.exp_avg"), 0f);
                assertArrayEquals(state.slots().get("w.exp_avg_sq"), again.slots().get("w.exp_avg_sq"), 0f);
                assertEquals(Map.of("w", 1L), again.parameterSteps());
            }
        }
    }
}
