package dev.finetune4j.core.nn;

import dev.finetune4j.core.tensor.Tensor;

/** A sub-block of a transformer layer (attention or MLP) that needs the forward context. */
public interface Block {
    /** x: (B, T, C) -> (B, T, C). */
    Tensor forward(Tensor x, ForwardContext ctx);
}
