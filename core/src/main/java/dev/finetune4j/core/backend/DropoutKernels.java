package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/**
 * Inverted dropout whose mask is a pure function of ({@link DropoutKey}, element index) through the Philox
 * counter-based generator ({@link Philox}), so every device draws the same mask and the backward redraws it
 * instead of storing it.
 */
public interface DropoutKernels {

    /**
     * {@code out[i] = keep(i) ? x[i] * (1 / (1 - p)) : 0}, the scale rounded to float32 once (a product, not a
     * division per element, so that every backend rounds alike), where element i is dropped when
     * {@link Philox#uniform(DropoutKey, long)} {@code < p}. Used for the forward (x the input) and the backward
     * (x the output gradient). {@code out} contiguous, same shape as {@code x}.
     *
     * @param x the input, any layout
     * @param p the drop probability, in (0, 1)
     * @param key what the mask is drawn from
     * @param out receives the result
     */
    void apply(Tensor x, float p, DropoutKey key, Tensor out);
}
