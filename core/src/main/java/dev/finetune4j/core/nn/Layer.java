package dev.finetune4j.core.nn;

import dev.finetune4j.core.tensor.Tensor;

/** A module with one input and one output, such as {@link Linear} or a PEFT wrapper around it. */
public interface Layer {
    /**
     * x: (..., in) -> (..., out).
     *
     * @param x the input, with {@code in} features in the last dimension
     * @return the output, with {@code out} features in the last dimension
     */
    Tensor forward(Tensor x);
}
