package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a training step keeps in memory, counted exactly by the CPU backend's allocation counter. */
class StepMemoryTest {
    private static final int ROWS = 64;
    private static final int IN = 48;
    private static final int OUT = 32;

    /**
     * Under BF16_MIXED an op keeps its activation as bf16 and frees the float32 result it rounded: a linear layer's
     * step then holds the bf16 output and the bf16 cast of its input, and nothing else (a weight's cast serves one
     * product; the backward casts the weight again).
     */
    @Test
    void bf16MixedKeepsTheRoundedOutputAndTheOperandCastsOnly() {
        try (var parameters = TensorScope.detached(); var step = TensorScope.open()) {
            Tensor w = Tensor.of(parameters, GradCheck.randn(1, OUT * IN), OUT, IN).requiresGrad(true);
            Tensor x = Tensor.of(GradCheck.randn(2, ROWS * IN), ROWS, IN);
            Backend backend = x.backend();
            long before = backend.memory().allocatedBytes();
            Matmul.linear(x, w, null);
            long f32Bytes = backend.memory().allocatedBytes() - before;
            Tensor y16;
            long mark = backend.memory().allocatedBytes();
            try (var mixed = Precision.BF16_MIXED.use()) {
                y16 = Matmul.linear(x, w, null);
            }
            assertEquals(DType.BF16, y16.dtype());
            assertEquals((long) ROWS * OUT * Float.BYTES, f32Bytes, "float32: the output alone");
            assertEquals(2L * (ROWS * OUT + ROWS * IN), backend.memory().allocatedBytes() - mark,
                    "bf16: the output and x's cast, which the backward reads; W's cast is freed after the product");
            // the same numbers as the float32 product of the rounded operands, rounded
            float[] expected;
            try (var rounded = Precision.F32.use()) {
                expected = Matmul.linear(x.to(DType.BF16).to(DType.F32), w.detach().to(DType.BF16).to(DType.F32), null)
                        .to(DType.BF16).to(DType.F32).toFloatArray();
            }
            assertArrayEquals(expected, y16.to(DType.F32).toFloatArray());
        }
    }

    /**
     * The backward frees each gradient once the rule that reads it has run: through a chain of 16 linear layers the
     * pass holds about two activation-sized gradients at a time (and the leaf's), not sixteen.
     */
    @Test
    void backwardHoldsTheGradientsInFlightOnly() {
        int layers = 16;
        try (var parameters = TensorScope.detached(); var step = TensorScope.open()) {
            Tensor x = Tensor.of(parameters, GradCheck.randn(3, ROWS * IN), ROWS, IN).requiresGrad(true);
            Tensor w = Tensor.of(parameters, GradCheck.randn(4, IN * IN), IN, IN);
            Backend backend = x.backend();
            Tensor h = x;
            for (int i = 0; i < layers; i++) {
                h = Matmul.linear(h, w, null);
            }
            Tensor loss = Reductions.sum(h);
            long afterForward = backend.memory().allocatedBytes();
            backend.resetPeak();
            Autograd.backward(loss);
            long activation = (long) ROWS * IN * Float.BYTES;
            long extra = backend.memory().peakBytes() - afterForward;
            assertTrue(extra <= 3 * activation + 1024, "backward peak " + extra + " bytes over the forward's, "
                    + "one gradient is " + activation);
            assertEquals(afterForward + activation + Float.BYTES, backend.memory().allocatedBytes(),
                    "after the pass only x's gradient (and the seed, a one) stays");
        }
    }
}
