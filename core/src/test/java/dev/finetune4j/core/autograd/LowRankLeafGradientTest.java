package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * LoRA's A and B gradients go straight into the parameters' gradients: a matrix shared by two layers gets the sum
 * of both layers' gradients, equal to what two separate passes give, and a gradient that was there before the pass
 * is added to, not replaced.
 */
class LowRankLeafGradientTest {

    @Test
    void aSharedLowRankMatrixAccumulatesEveryUseIntoItsGradient() {
        try (var parameters = TensorScope.detached(); var step = TensorScope.open()) {
            Tensor w = Tensor.of(parameters, GradCheck.randn(1, 6 * 5), 6, 5);
            Tensor a = Tensor.of(parameters, GradCheck.randn(2, 3 * 5), 3, 5).requiresGrad(true);
            Tensor b = Tensor.of(parameters, GradCheck.randn(3, 6 * 3), 6, 3).requiresGrad(true);
            Tensor x1 = Tensor.of(GradCheck.randn(4, 4 * 5), 4, 5);
            Tensor x2 = Tensor.of(GradCheck.randn(5, 2 * 5), 2, 5);
            float[][] first = gradients(a, b, () -> Reductions.sum(LowRank.linear(x1, w, null, a, b, 0.5f)));
            float[][] second = gradients(a, b, () -> Reductions.sum(LowRank.linear(x2, w, null, a, b, 0.5f)));
            float[][] both = gradients(a, b, () -> Elementwise.add(
                    Reductions.sum(LowRank.linear(x1, w, null, a, b, 0.5f)),
                    Reductions.sum(LowRank.linear(x2, w, null, a, b, 0.5f))));
            for (int m = 0; m < 2; m++) {
                for (int i = 0; i < both[m].length; i++) {
                    assertEquals(first[m][i] + second[m][i], both[m][i], 1e-5f, (m == 0 ? "A" : "B") + " at " + i);
                }
            }
            // a gradient already there (micro-batches of one optimizer step) is added to
            Autograd.backward(Reductions.sum(LowRank.linear(x1, w, null, a, b, 0.5f)));
            float[] twice = a.grad().toFloatArray();
            Autograd.backward(Reductions.sum(LowRank.linear(x1, w, null, a, b, 0.5f)));
            float[] expected = twice.clone();
            for (int i = 0; i < expected.length; i++) {
                expected[i] = twice[i] + first[0][i];
            }
            assertArrayEquals(expected, a.grad().toFloatArray(), 1e-5f);
        }
    }

    /** A's and B's gradients of one backward pass from zero. */
    private static float[][] gradients(Tensor a, Tensor b, java.util.function.Supplier<Tensor> loss) {
        a.setGrad(null);
        b.setGrad(null);
        Autograd.backward(loss.get());
        return new float[][]{a.grad().toFloatArray(), b.grad().toFloatArray()};
    }
}
