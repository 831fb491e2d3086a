package dev.finetune4j.core.nn;

import dev.finetune4j.core.tensor.Tensor;

/** A sub-block of a transformer layer (attention or MLP) that needs the forward context. */
public interface Block {
    /**
     * x: (B, T, C) -> (B, T, C).
     *
     * @param x the hidden states, (B, T, C)
     * @param ctx positions, masks and caches of this forward pass
     * @return the new hidden states, (B, T, C)
     */
    Tensor forward(Tensor x, ForwardContext ctx);
}
