package dev.finetune4j.core.optim;

import java.util.Map;

/**
 * Updates a fixed, named set of float32 parameters from their gradients ({@code Tensor.grad()}). State is
 * exported and imported exactly, so a resumed run continues bit for bit. Not thread-safe: one training loop
 * owns an optimizer.
 */
public interface Optimizer {

    /** One update with the current learning rate; parameters without a gradient are left alone. */
    void step();

    /** Sets every gradient to zero in place. */
    void zeroGrad();

    double learningRate();

    void setLearningRate(double lr);

    /** Updates taken so far. */
    long steps();

    /** Per-parameter state arrays keyed {@code <parameter>.<slot>} (for example {@code .exp_avg}). */
    Map<String, float[]> exportState();

    /** Restores what {@link #exportState()} returned after {@code steps} updates. */
    void importState(Map<String, float[]> state, long steps);
}
