package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The autograd engine: recording, no-grad, accumulation, scopes of gradients, deep graphs; and the checker itself. */
class AutogradTest {

    @Test
    void noGradRecordsNothingAndNests() {
        try (var s = TensorScope.open()) {
            Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
            try (var outer = Autograd.noGrad()) {
                try (var inner = Autograd.noGrad()) {
                    assertFalse(Autograd.isEnabled());
                }
                assertFalse(Autograd.isEnabled(), "still inside the outer noGrad");
                Tensor y = Elementwise.exp(x);
                assertNull(y.gradFn());
                assertFalse(y.requiresGrad());
            }
            assertTrue(Autograd.isEnabled());
            assertTrue(Elementwise.exp(x).requiresGrad());
        }
    }

    @Test
    void gradientsAccumulateAcrossPassesAndBranches() {
        try (var s = TensorScope.open()) {
            Tensor x = Tensor.of(new float[]{1, 2, 3}, 3).requiresGrad(true);
            // loss = sum(x * 2 + x * x): d/dx = 2 + 2x, with x reaching the loss through two branches
            Autograd.backward(Reductions.sum(Elementwise.add(Elementwise.scale(x, 2f), Elementwise.mul(x, x))));
            assertArrayEquals(new float[]{4, 6, 8}, x.grad().toFloatArray());
            Autograd.backward(Reductions.sum(x));
            assertArrayEquals(new float[]{5, 7, 9}, x.grad().toFloatArray(), "a second backward adds");
        }
    }

    @Test
    void aSecondBackwardThroughTheSameGraphIsRefused() {
        try (var s = TensorScope.open()) {
            Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
            Tensor loss = Reductions.sum(Elementwise.mul(x, x));
            Autograd.backward(loss);
            assertArrayEquals(new float[]{2, 4}, x.grad().toFloatArray());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Autograd.backward(loss));
            assertTrue(e.getMessage().contains("second time"), e.getMessage());
            assertArrayEquals(new float[]{2, 4}, x.grad().toFloatArray(), "the refused pass added nothing");
        }
    }

    @Test
    void parameterGradientsOutliveTheStepScope() {
        try (var params = TensorScope.detached()) {
            Tensor w = Tensor.of(params, new float[]{0.5f, -1f}, 2).requiresGrad(true);
            try (var step = TensorScope.open()) {
                Tensor x = Tensor.of(new float[]{3, 4}, 2);
                Autograd.backward(Reductions.sum(Elementwise.mul(w, x)));
            }
            assertArrayEquals(new float[]{3, 4}, w.grad().toFloatArray());
        }
    }

    @Test
    void deepChainsDoNotOverflowTheStack() {
        try (var s = TensorScope.open()) {
            Tensor x = Tensor.of(new float[]{1}, 1).requiresGrad(true);
            Tensor y = x;
            for (int i = 0; i < 20_000; i++) {
                y = Elementwise.addScalar(y, 1f);
            }
            Autograd.backward(y);
            assertArrayEquals(new float[]{1}, x.grad().toFloatArray());
        }
    }

    @Test
    void misuseIsExplained() {
        try (var s = TensorScope.open()) {
            Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
            assertThrows(IllegalArgumentException.class, () -> Autograd.backward(Elementwise.exp(x)), "non-scalar loss");
            assertThrows(IllegalStateException.class, () -> Autograd.backward(Reductions.sum(Tensor.zeros(2))), "nothing requires grad");
        }
    }

    /** The checker must catch a wrong backward (here: the derivative of x^2 given as x). */
    @Test
    void gradCheckCatchesAWrongBackward() {
        GradCheck.Forward wrong = x -> {
            Tensor in = x[0];
            Tensor out = Elementwise.mul(in.detach(), in.detach());
            return Autograd.record("wrongSquare", out, d -> new Tensor[]{Elementwise.mul(d, in.detach())}, in);
        };
        AssertionFailedError e = assertThrows(AssertionFailedError.class,
                () -> GradCheck.of("wrong", wrong).input(5).run());
        assertTrue(e.getMessage().contains("largest difference"), e.getMessage());
        assertThrows(AssertionFailedError.class, () -> GradCheck.of("wrong forward", x -> Elementwise.exp(x[0])).input(3)
                .reference(x -> x[0]).run());
    }
}
