package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.finetune4j.core.optim.Params.param;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GradientClippingTest {

    @Test
    void scalesAllGradientsToTheMaximumNormAndReturnsTheNormBefore() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor a = param(scope, new float[2], new float[]{3f, 0f});
            Tensor b = param(scope, new float[1], new float[]{4f});
            Tensor frozen = param(scope, new float[1], null);
            // total = sqrt(3^2 + 4^2) = 5; coefficient 1 / (5 + 1e-6) = 0.19999996
            assertEquals(5.0, GradientClipping.clipGlobalNorm(List.of(a, b, frozen), 1.0));
            assertArrayEquals(new float[]{0.6f, 0f}, a.grad().toFloatArray(), 1e-6f);
            assertArrayEquals(new float[]{0.8f}, b.grad().toFloatArray(), 1e-6f);
            assertEquals(1.0, GradientClipping.globalNorm(List.of(a, b)), 1e-6);
        }
    }

    @Test
    void leavesGradientsUnderTheLimitUntouched() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor a = param(scope, new float[2], new float[]{0.3f, 0.4f});
            assertEquals(0.5, GradientClipping.clipGlobalNorm(List.of(a), 10.0), 1e-7);
            assertArrayEquals(new float[]{0.3f, 0.4f}, a.grad().toFloatArray(), 0f);
        }
    }

    @Test
    void nonFiniteGradientsGiveANonFiniteNormAsInTorch() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor a = param(scope, new float[2], new float[]{Float.NaN, 1f});
            assertTrue(Double.isNaN(GradientClipping.clipGlobalNorm(List.of(a), 1.0)));
            assertTrue(Float.isNaN(a.grad().toFloatArray()[1]), "torch multiplies by a NaN coefficient");
            assertThrows(IllegalArgumentException.class, () -> GradientClipping.clipGlobalNorm(List.of(a), 0));
        }
    }
}
