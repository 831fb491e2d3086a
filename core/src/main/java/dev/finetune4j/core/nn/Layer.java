package dev.finetune4j.core.nn;

import dev.finetune4j.core.tensor.Tensor;

/** A module with one input and one output, such as {@link Linear} or a PEFT wrapper around it. */
public interface Layer {
    /** x: (..., in) -> (..., out). */
    Tensor forward(Tensor x);
}
