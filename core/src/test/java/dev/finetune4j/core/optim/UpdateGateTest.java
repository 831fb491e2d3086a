package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.finetune4j.core.optim.Params.param;
import static dev.finetune4j.core.optim.Params.setGrad;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gated step against its host-side reference: {@link GradientClipping#clipGlobalNorm} then an unconditional
 * step, bit for bit; a closed gate changes nothing, and settling it takes the step back from the counts.
 */
class UpdateGateTest {
    private static final float[][] GRADS = {{3f, 0f, -1f}, {0.01f, 0.02f, 0f}, {-2f, 4f, 0.5f}};

    @Test
    void readsTheNormTheCoefficientAndWhetherItIsOpen() {
        try (TensorScope scope = TensorScope.detached(); var step = TensorScope.open()) {
            Tensor a = param(scope, new float[2], new float[]{3f, 0f});
            Tensor b = param(scope, new float[1], new float[]{4f});
            Tensor frozen = param(scope, new float[1], null);
            Tensor losses = Tensor.of(new float[]{0.5f, 2f}, 2);
            // norms 3 and 4: the global norm is 5; clipped to 1 the coefficient is (1 / (5 + 1e-6)) * 1 in float32
            float[] clipped = UpdateGate.of(List.of(a, b, frozen), losses, 1.0).values().toFloatArray();
            assertArrayEquals(new float[]{5f, (1f / (5f + 1e-6f)) * 1f, 0f}, clipped, 0f);
            assertEquals(new UpdateGate.Reading(5.0, true), UpdateGate.read(clipped, 0));
            assertArrayEquals(new float[]{5f, 1f, 0f}, UpdateGate.of(List.of(a, b), losses, 10).values()
                    .toFloatArray(), 0f);
            assertArrayEquals(new float[]{5f, 1f, 0f}, UpdateGate.of(List.of(a, b), losses, 0).values()
                    .toFloatArray(), 0f, "no clipping");
            Tensor nanLoss = Tensor.of(new float[]{0.5f, Float.NaN}, 2);
            float[] closed = UpdateGate.of(List.of(a, b), nanLoss, 1.0).values().toFloatArray();
            assertArrayEquals(new float[]{5f, 0f, 1f}, closed, 0f);
            assertFalse(UpdateGate.read(closed, 0).open());
            setGrad(b, Float.POSITIVE_INFINITY);
            assertFalse(UpdateGate.read(UpdateGate.of(List.of(a, b), losses, 1.0).values().toFloatArray(), 0).open(),
                    "an infinite gradient closes the gate");
            assertThrows(IllegalArgumentException.class, () -> UpdateGate.of(List.of(a), losses, -1));
        }
    }

    @Test
    void anOpenGateStepsAsClippingThenSteppingDoes() {
        try (TensorScope scope = TensorScope.detached(); var step = TensorScope.open();
             Trained gated = new Trained(scope); Trained reference = new Trained(scope)) {
            for (int s = 0; s < 3; s++) {
                float factor = s == 1 ? 0.01f : 1f; // the second step's norm is under the limit: no clipping
                gated.setGrads(factor);
                reference.setGrads(factor);
                double expectedNorm = GradientClipping.clipGlobalNorm(reference.params.values(), 1.0);
                reference.adamW.step();
                UpdateGate gate = UpdateGate.of(gated.params.values(), Tensor.of(new float[]{0.7f}, 1), 1.0);
                gated.adamW.step(gate);
                UpdateGate.Reading reading = UpdateGate.read(gate.values().toFloatArray(), 0);
                gated.adamW.settle(reading.open());
                assertTrue(reading.open());
                assertEquals(expectedNorm, reading.gradNorm(), 0, "step " + s);
                gated.assertSameAs(reference, "step " + s);
            }
        }
    }

    @Test
    void aClosedGateChangesNothingAndIsNotCounted() {
        try (TensorScope scope = TensorScope.detached(); var step = TensorScope.open();
             Trained gated = new Trained(scope); Trained reference = new Trained(scope)) {
            gated.setGrads(1f);
            reference.setGrads(1f);
            gated.adamW.step();
            reference.adamW.step();
            UpdateGate gate = UpdateGate.of(gated.params.values(), Tensor.of(new float[]{Float.NaN}, 1), 1.0);
            gated.adamW.step(gate);
            gated.adamW.settle(UpdateGate.read(gate.values().toFloatArray(), 0).open());
            gated.assertSameAs(reference, "after the skipped step");
            // the next update uses the bias corrections of step 2, as if the skipped one never happened
            gated.adamW.step();
            reference.adamW.step();
            gated.assertSameAs(reference, "after the next step");
        }
    }

    @Test
    void aGatedStepMustBeSettledOnceBeforeTheOptimizerMovesOn() {
        try (TensorScope scope = TensorScope.detached(); var step = TensorScope.open();
             Trained gated = new Trained(scope)) {
            gated.setGrads(1f);
            assertThrows(IllegalStateException.class, () -> gated.adamW.settle(true), "nothing to settle");
            gated.adamW.step(UpdateGate.of(gated.params.values(), Tensor.of(new float[]{1f}, 1), 0));
            var e = assertThrows(IllegalStateException.class, gated.adamW::step);
            assertTrue(e.getMessage().contains("settle"), e.getMessage());
            assertThrows(IllegalStateException.class, gated.adamW::exportState);
            gated.adamW.settle(true);
            assertEquals(1, gated.adamW.steps());
            assertThrows(IllegalStateException.class, () -> gated.adamW.settle(true), "settled twice");
        }
    }

    /** Three parameters with AdamW (weight decay on), set up identically each time. */
    private static final class Trained implements AutoCloseable {
        final Map<String, Tensor> params = new LinkedHashMap<>();
        final AdamW adamW;

        Trained(TensorScope scope) {
            for (int k = 0; k < GRADS.length; k++) {
                params.put("p" + k, param(scope, new float[]{0.5f, -0.25f, 1f}, new float[3]));
            }
            adamW = new AdamW(params, new AdamWConfig(1e-2, 0.9, 0.999, 1e-8, 0.01));
        }

        void setGrads(float factor) {
            int k = 0;
            for (Tensor p : params.values()) {
                float[] g = GRADS[k++].clone();
                for (int i = 0; i < g.length; i++) {
                    g[i] *= factor;
                }
                setGrad(p, g);
            }
        }

        void assertSameAs(Trained other, String when) {
            for (String name : params.keySet()) {
                assertArrayEquals(other.params.get(name).toFloatArray(), params.get(name).toFloatArray(), 0f,
                        name + " " + when);
            }
            OptimizerState mine = adamW.exportState();
            OptimizerState theirs = other.adamW.exportState();
            assertEquals(theirs.steps(), mine.steps(), when);
            assertEquals(theirs.parameterSteps(), mine.parameterSteps(), when);
            for (String slot : theirs.slots().keySet()) {
                assertArrayEquals(theirs.slots().get(slot), mine.slots().get(slot), 0f, slot + " " + when);
            }
        }

        @Override
        public void close() {
            adamW.close();
        }
    }
}
