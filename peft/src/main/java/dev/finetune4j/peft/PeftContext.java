package dev.finetune4j.peft;

import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * What an injector needs to know about the base model it changes.
 *
 * @param root          the model's root module (paths are relative to it)
 * @param modelType     config {@code model_type} ("llama", "gpt2", "bert", ...), for default targets
 * @param scope         where new adapter weights are allocated (the base model's parameter scope)
 * @param dropoutRandom the base model's dropout stream
 * @param seed          seed of the adapter's initialisation
 * @param trainable     whether the adapter's tensors require gradients
 */
public record PeftContext(Module root, String modelType, TensorScope scope, Supplier<SplittableRandom> dropoutRandom,
                          long seed, boolean trainable) {
}
