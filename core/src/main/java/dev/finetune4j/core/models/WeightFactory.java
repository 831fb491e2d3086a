package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;

/**
 * Makes each weight of a model built by {@link AutoModel#newCausalLM(com.fasterxml.jackson.databind.JsonNode,
 * dev.finetune4j.core.tensor.TensorScope, WeightFactory)} straight in its final dtype and storage (seeded random
 * weights, a quantized base), so that no zero-filled copy of the model is ever allocated first.
 */
@FunctionalInterface
public interface WeightFactory {
    /**
     * The weight for the parameter {@code name}, made in the scope given to {@code newCausalLM}.
     *
     * @param name        the parameter's dotted name, e.g. {@code model.layers.0.mlp.up_proj.weight}
     * @param owner       the module that holds it (a {@code Linear} for a projection's weight)
     * @param placeholder a {@link Device#meta()} tensor with the parameter's shape and the dtype the module would
     *                    make it in (it has no values)
     * @return the weight: any dtype, the placeholder's shape, allocated in the model's scope
     */
    Tensor create(String name, Module owner, Tensor placeholder);
}
