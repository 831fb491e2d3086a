package dev.finetune4j.core.models;

import dev.finetune4j.core.tensor.Tensor;

/**
 * Anything that turns a batch into next-token logits with autograd: a {@link LanguageModel}, or a model with a
 * PEFT adapter around one. What {@link dev.finetune4j.core.generate.Generator} needs.
 */
public interface LogitsModel {

    /**
     * Logits (B, T, V) of a batch's T input positions (a wrapper that prepends virtual positions, as prompt
     * tuning does, drops their logits). With a KV cache, the cache carries earlier positions between calls.
     *
     * @param input the batch
     * @return the logits, (B, T, V)
     */
    Tensor forward(ModelInput input);

    /**
     * Shape facts (layers, heads, vocabulary, longest sequence).
     *
     * @return the model's spec
     */
    ModelSpec spec();
}
