package dev.finetune4j.peft.lora;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Map;

/**
 * What sets a flavour of LoRA apart, as PEFT's {@code LoraVariant}: the parameters it adds to a {@link LoraLinear},
 * their initialisation, the forward pass and the weight a merge writes. Plain LoRA is {@link #standard()}; DoRA is
 * {@link DoraVariant}. A variant instance belongs to one layer (DoRA keeps the norm a merge used).
 *
 * <p>Thread safety: as {@link LoraLinear}.
 */
public interface LoraVariant {

    /**
     * Plain LoRA: y = base(x) + s B A dropout(x); merging adds s B A to W.
     *
     * @return the stateless plain variant
     */
    static LoraVariant standard() {
        return StandardLora.INSTANCE;
    }

    /**
     * The variant {@code config} asks for, for one layer: DoRA with {@code use_dora}, else plain LoRA.
     *
     * @param config the LoRA config
     * @return a variant for one layer
     */
    static LoraVariant of(LoraConfig config) {
        return config.useDora() ? new DoraVariant() : standard();
    }

    /**
     * Parameters the variant adds to each layer, by the name PEFT gives them, with their shapes; the layer
     * allocates them as zeros.
     *
     * @param outFeatures the layer's output width
     * @return name to shape; none by default
     */
    default Map<String, Shape> parameters(int outFeatures) {
        return Map.of();
    }

    /**
     * Initialises the variant's parameters once A and B hold their initial values.
     *
     * @param layer the layer
     */
    default void initialise(LoraLinear layer) {
    }

    /**
     * The layer's output with the adapter active. x: (..., in) -> (..., out).
     *
     * @param layer   the layer
     * @param x       the input
     * @param dropped the adapter's input: dropout(x) in training with dropout, else {@code x} itself
     * @return the output
     */
    Tensor forward(LoraLinear layer, Tensor x, Tensor dropped);

    /**
     * The base weight (out, in) with the adapter folded in, for {@link LoraLinear#merge()}.
     *
     * @param layer the layer, not merged
     * @return the merged weight
     */
    Tensor mergedWeight(LoraLinear layer);
}
