package dev.finetune4j.peft;

import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.Tensor;

import java.util.SplittableRandom;

/**
 * PyTorch's default initialisation of an {@code nn.Linear}, which PEFT's methods inherit for the layers they create
 * (LoRA's A, a bottleneck adapter's down projection, prefix tuning's MLP): weight and bias are drawn from
 * {@code U(-b, b)} with {@code b = 1 / sqrt(fan_in)} (Kaiming-uniform with {@code a = sqrt(5)}:
 * {@code gain sqrt(3 / fan_in)} with {@code gain = sqrt(2 / (1 + 5))}).
 *
 * <p>Thread safety: stateless; a {@link SplittableRandom} must not be shared between threads.
 */
public final class LinearInit {
    private LinearInit() {
    }

    /**
     * Fills {@code t}, element by element in storage order, with draws of {@code U(-1/sqrt(fanIn), 1/sqrt(fanIn))}.
     *
     * @param t      the weight (out, in) or bias (out) to fill in place
     * @param fanIn  the layer's input width
     * @param random the source of the draws, advanced by one draw per element
     */
    public static void fanInUniform(Tensor t, int fanIn, SplittableRandom random) {
        double bound = 1 / Math.sqrt(fanIn);
        StateDicts.fill(t, () -> (random.nextDouble() * 2 - 1) * bound);
    }
}
