package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.CrossEntropy;
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
     * The logits (B, V) of each row's last input position: what generation reads to choose the next token. Equal to
     * the last position of {@link #forward}, which is what this default computes; a {@link LanguageModel} runs its
     * output head on that position alone, so reading a prompt of T tokens costs one row of the head, not T (with a
     * vocabulary of 151,936 words, the head of a 0.5B model is a quarter of a prompt's work).
     *
     * @param input the batch
     * @return the logits, (B, V)
     */
    default Tensor nextTokenLogits(ModelInput input) {
        Tensor logits = forward(input);
        int last = logits.dim(1) - 1;
        return logits.slice(1, last, last + 1).reshape(logits.dim(0), logits.dim(2));
    }

    /**
     * log p(label) of every position of a batch, flattened to (B * T), with autograd: what a training loss needs
     * when it needs no logits. Equal to {@code CrossEntropy.tokenLogProbs(forward(input).reshape(B * T, V),
     * labels)}, which is what this default computes; a model whose output head is a plain projection computes it
     * without holding the (B * T, V) logits (see {@link dev.finetune4j.core.autograd.LinearCrossEntropy}).
     *
     * @param input the batch, B rows of T positions
     * @param labels the label of each position, row after row, in [0, V) or {@link CrossEntropy#IGNORE_INDEX}
     * @return the log-probabilities, (B * T), 0 at ignored positions
     */
    default Tensor tokenLogProbs(ModelInput input, int[] labels) {
        Tensor logits = forward(input);
        return CrossEntropy.tokenLogProbs(logits.reshape(logits.dim(0) * logits.dim(1), logits.dim(2)), labels);
    }

    /**
     * Shape facts (layers, heads, vocabulary, longest sequence).
     *
     * @return the model's spec
     */
    ModelSpec spec();

    /**
     * Whether the keys and values a generation cached for the first {@code cached} positions go stale before a pass
     * that grows the sequence to {@code length} tokens, so that the generation recomputes them: Phi-3's longrope
     * switches to its long-context frequencies when a sequence outgrows the pretrained length, and transformers'
     * generate then recomputes the cache once with them.
     *
     * @param cached the positions the cache holds
     * @param length the sequence's length after the pass
     * @return false unless this model's cache must be recomputed there
     */
    default boolean cacheGoesStale(int cached, int length) {
        return false;
    }

    /**
     * Whether some layer carries a recurrent state from one pass of a generation to the next instead of keys and
     * values (Qwen3.5's linear-attention layers, Granite 4.0 H's Mamba-2 layers): its cache holds that state
     * ({@link dev.finetune4j.core.nn.KvCache#recurrentState}), and a prefix of keys and values (prefix tuning) has no
     * place in it.
     *
     * @return false unless some layer is recurrent
     */
    default boolean hasRecurrentLayers() {
        return false;
    }

    /**
     * Why one shape of keys and values for every layer ({@link ModelSpec#numKeyValueHeads} heads of
     * {@link ModelSpec#headDim}, the shape prefix tuning lays out) does not fit this model, or null when it does:
     * Gemma 4's full-attention layers have heads of their own size and count, and its kv-shared layers project no keys
     * and values; a multi-head latent attention layer caches latents instead.
     *
     * @return what differs, or null when every layer attends over keys and values of the model's one shape
     */
    default String keyValueShapesDiffer() {
        return null;
    }
}
