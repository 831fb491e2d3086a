package dev.finetune4j.peft;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * What an injector needs to know about the base model it changes.
 *
 * @param root          the model's root module (paths are relative to it)
 * @param spec          the model's shape facts; {@code spec.modelType()} ("llama", "gpt2", "bert", ...) picks
 *                      default targets
 * @param causalLm      the model as a causal LM (prompt and prefix tuning change its input), or null for a
 *                      sequence classifier
 * @param scope         where new adapter weights are allocated (the base model's parameter scope)
 * @param dropoutRandom the base model's dropout stream
 * @param seed          seed of the adapter's initialisation
 * @param trainable     whether the adapter's tensors require gradients
 * @param forLoading    whether the adapter's tensors will be overwritten from a saved adapter
 */
public record PeftContext(Module root, ModelSpec spec, LanguageModel causalLm, TensorScope scope,
                          Supplier<SplittableRandom> dropoutRandom, long seed, boolean trainable, boolean forLoading) {

    /**
     * The base model's {@code model_type}.
     *
     * @return for example {@code "llama"}
     */
    public String modelType() {
        return spec.modelType();
    }

    /**
     * The base model as a causal LM, for methods that change its input.
     *
     * @param method the method's name for the message, for example {@code "prompt tuning"}
     * @return the causal LM
     * @throws PeftException when the base is a sequence classifier
     */
    public LanguageModel requireCausalLm(String method) {
        if (causalLm == null) {
            throw new PeftException(method + " needs a causal LM base (it changes the decoder's input); "
                    + "on a " + modelType() + " classifier use a method that wraps layers, such as LORA or IA3");
        }
        return causalLm;
    }

    /**
     * Refuses, before anything is allocated, virtual tokens that leave no position for the input.
     *
     * @param virtualTokens the positions the method puts before every sequence
     * @throws PeftException when they take every position the model has
     */
    public void requireRoomFor(int virtualTokens) {
        if (virtualTokens >= spec.maxPositionEmbeddings()) {
            throw new PeftException("num_virtual_tokens = " + virtualTokens + " leaves no position for the input: the model has "
                    + spec.maxPositionEmbeddings() + " positions (max_position_embeddings); typical values are 8 to 32");
        }
    }
}
