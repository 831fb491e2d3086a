package dev.finetune4j.core.nn;

import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * The keys and values of one forward pass that later layers attend over (Gemma 4's kv-shared layers read those of
 * the last earlier layer of their type, transformers' {@code shared_kv_states}): each source layer puts its keys and
 * values here, the cached positions included, and a sharing layer takes them. One per pass; not thread-safe.
 */
public final class SharedKeyValues {
    private final Tensor[][] byLayer;

    /**
     * Room for a model of {@code layers} layers.
     *
     * @param layers the number of layers
     */
    public SharedKeyValues(int layers) {
        this.byLayer = new Tensor[layers][];
    }

    /**
     * Keeps layer {@code layer}'s keys and values for the layers that share them.
     *
     * @param layer the source layer's index
     * @param keys its keys, (B, Hkv, S, D), cached positions included
     * @param values its values, (B, Hkv, S, D)
     */
    public void put(int layer, Tensor keys, Tensor values) {
        byLayer[layer] = new Tensor[]{keys, values};
    }

    /**
     * The keys and values that layer {@code layer} put in this pass.
     *
     * @param layer the source layer's index
     * @return its keys and values
     * @throws IllegalStateException when that layer has not run in this pass
     */
    public Tensor[] get(int layer) {
        if (byLayer[layer] == null) {
            throw new IllegalStateException("layer " + layer + " has put no keys and values in this pass: a kv-shared "
                    + "layer runs after the layer it shares them with");
        }
        return byLayer[layer];
    }

    /**
     * Every tensor kept so far, which a pass that frees each layer's intermediates must keep.
     *
     * @return the keys and values, in layer order
     */
    public Tensor[] tensors() {
        return Arrays.stream(byLayer).filter(Objects::nonNull).flatMap(Arrays::stream).toArray(Tensor[]::new);
    }
}
