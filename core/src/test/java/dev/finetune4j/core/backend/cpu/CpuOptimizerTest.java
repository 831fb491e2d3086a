package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.AdamWStep;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.backend.SgdStep;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU optimizer kernels on hand-computed steps, on views that start inside their storage. */
class CpuOptimizerTest {
    private static final OptimizerKernels KERNELS = CpuBackend.instance().optimizer();

    /** Elements 1 and 2 of {@code [9, a, b, 9]}: a contiguous view with an offset. */
    private static Tensor inner(TensorScope scope, float a, float b) {
        return Tensor.of(scope, new float[]{9f, a, b, 9f}, 4).slice(0, 1, 3);
    }

    @Test
    void adamWUpdatesParameterAndBothMomentsInPlace() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = inner(scope, 1f, 2f);
            Tensor g = inner(scope, 0.1f, 3f);
            Tensor m = inner(scope, 0f, 1f);
            Tensor v = inner(scope, 0f, 0f);
            // beta1 0.25 (the lerp's second branch), lr 0.01 at t=1: negStepSize = -0.01 / 0.75; no weight decay
            float negStep = (float) (-0.01 / 0.75);
            float bc2 = (float) Math.sqrt(0.001);
            KERNELS.adamw(p, g, m, v, new AdamWStep(1f, 0.75f, 0.999f, 0.001f, 1e-8f, negStep, bc2));
            // m = lerp(m, g, 0.75): 0.075 and 1 + 0.75 * 2 = 2.5; v = 0.001 g^2: 1e-5 and 0.009
            assertArrayEquals(new float[]{9f, 0.075f, 2.5f, 9f}, whole(m), 1e-7f);
            assertArrayEquals(new float[]{9f, 1e-5f, 0.009f, 9f}, whole(v), 1e-10f);
            // denom = sqrt(v) / sqrt(0.001) + 1e-8 = 0.1 and 3; p = p - (0.01 / 0.75) * m / denom
            double p0 = 1 - 0.01 / 0.75 * 0.075 / (0.1 + 1e-8);
            double p1 = 2 - 0.01 / 0.75 * 2.5 / (3 + 1e-8);
            assertArrayEquals(new float[]{9f, (float) p0, (float) p1, 9f}, whole(p), 1e-7f);
        }
    }

    @Test
    void sgdWithNesterovMomentumAndWeightDecay() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = inner(scope, 1f, -1f);
            Tensor g = inner(scope, 0.5f, -2f);
            Tensor buf = inner(scope, 0.2f, 0f);
            KERNELS.sgd(p, g, buf, new SgdStep(-0.1f, 0.5f, 0.9f, 1f, true, false));
            // d = g + 0.5 p = (1, -2.5); buf = 0.9 buf + d = (1.18, -2.5); d = d + 0.9 buf = (2.062, -4.75)
            assertArrayEquals(new float[]{9f, 1.18f, -2.5f, 9f}, whole(buf), 1e-6f);
            assertArrayEquals(new float[]{9f, 1f - 0.2062f, -1f + 0.475f, 9f}, whole(p), 1e-6f);
        }
    }

    @Test
    void sgdFirstStepStartsTheBufferAtTheGradientAndNoBufferMeansNoMomentum() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = inner(scope, 1f, -1f);
            Tensor buf = inner(scope, 5f, 5f);
            KERNELS.sgd(p, inner(scope, 0.5f, -2f), buf, new SgdStep(-0.1f, 0f, 0.9f, 0.5f, false, true));
            assertArrayEquals(new float[]{9f, 0.5f, -2f, 9f}, whole(buf), 0f);
            assertArrayEquals(new float[]{9f, 0.95f, -0.8f, 9f}, whole(p), 1e-7f);
            KERNELS.sgd(p, inner(scope, 0.5f, -2f), null, new SgdStep(-0.1f, 0f, 0.9f, 0.5f, false, false));
            assertArrayEquals(new float[]{9f, 0.9f, -0.6f, 9f}, whole(p), 1e-7f);
        }
    }

    @Test
    void refusesStateOfAnotherSize() {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor p = inner(scope, 1f, 2f);
            Tensor shortBuffer = Tensor.of(scope, new float[1], 1);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> KERNELS.sgd(p, inner(scope, 0f, 0f), shortBuffer, new SgdStep(-0.1f, 0f, 0.9f, 1f, false, true)));
            assertTrue(e.getMessage().contains("2 elements"), e.getMessage());
        }
    }

    /** All four elements of the storage behind an {@link #inner} view. */
    private static float[] whole(Tensor view) {
        return view.view(Shape.of(4), new long[]{1}, 0).toFloatArray();
    }
}
