package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Gradients that rules add into the gradient accumulated so far ({@link GradNode.Accumulating}) against finite
 * differences: a residual read by a norm and three linears and added back (each linear adds into the norm's
 * gradient, the norm into the residual's), and a residual added to its own norm, where the pass-through gradient is
 * shared by both inputs of the add and must not be changed in place.
 */
class AccumulatingBackwardTest {
    @Test
    void aResidualReadByANormAndThreeLinears() {
        GradCheck.of("x + sum of linear(rmsNorm(x), W_i)", v -> {
            Tensor x = Elementwise.scale(v[0], 1f);
            Tensor h = Norms.rmsNorm(x, v[1], 1e-6f);
            Tensor y = x;
            for (int i = 2; i < 5; i++) {
                y = Elementwise.add(y, Matmul.linear(h, v[i], null));
            }
            return y;
        }).input(3, 6).input(6).input(6, 6).input(6, 6).input(6, 6).run();
    }

    @Test
    void aSharedPassThroughGradientIsNotChangedInPlace() {
        GradCheck.of("x + layerNorm(x), then linear", v -> {
            Tensor x = Elementwise.scale(v[0], 1f);
            Tensor y = Elementwise.add(x, Norms.layerNorm(x, v[1], v[2], 1e-5f));
            return Matmul.linear(y, v[3], null);
        }).input(3, 6).input(6).input(6).input(5, 6).run();
    }
}
