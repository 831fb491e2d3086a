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
    void theNormOfManyTensorsIsTheNormOfTheirNorms() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor a = param(scope, new float[1], new float[]{-1f});
            Tensor b = param(scope, new float[4], new float[]{1f, 1f, 1f, 1f});
            Tensor c = param(scope, new float[2], new float[]{0f, 2f});
            // norms 1, 2 and 2: sqrt(1 + 4 + 4) = 3
            assertEquals(3.0, GradientClipping.globalNorm(List.of(a, b, c)));
            assertEquals(3.0, GradientClipping.clipGlobalNorm(List.of(a, b, c), 1.5));
            assertArrayEquals(new float[]{0.5f, 0.5f, 0.5f, 0.5f}, b.grad().toFloatArray(), 1e-6f);
            assertArrayEquals(new float[]{0f, 1f}, c.grad().toFloatArray(), 1e-6f);
        }
    }

    @Test
    void refusesAGradientThatIsNotContiguous() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = Tensor.of(scope, new float[4], 2, 2).requiresGrad(true);
            p.setGrad(Tensor.of(scope, new float[]{1f, 2f, 3f, 4f}, 2, 2).transpose(0, 1));
            var e = assertThrows(IllegalStateException.class, () -> GradientClipping.clipGlobalNorm(List.of(p), 1.0));
            assertTrue(e.getMessage().contains("contiguous F32"), e.getMessage());
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
