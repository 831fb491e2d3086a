package dev.finetune4j.core.models.decoder;

import java.util.List;

/**
 * Where a decoder's backbone sits in Hugging Face's module tree. The dotted paths name the state dict's weights,
 * PEFT's adapter keys ({@code base_model.model.<path>.lora_A.weight}) and what {@code target_modules} regexes and
 * {@code modules_to_save} match, so they must be transformers' own for the class the checkpoint was saved from.
 */
public enum DecoderLayout {
    /**
     * A {@code *ForCausalLM}: {@code model.embed_tokens}, {@code model.layers.N...}, {@code model.norm},
     * {@code lm_head}; the spec's {@code model_type} is the config's.
     */
    CAUSAL_LM(null, "model", List.of()),
    /**
     * The language model of Gemma 3's vision-language {@code Gemma3ForConditionalGeneration} (transformers 5):
     * {@code model.language_model.embed_tokens}, {@code model.language_model.layers.N...},
     * {@code model.language_model.norm}, {@code lm_head}. The vision tower and projector beside it
     * ({@code model.vision_tower}, {@code model.multi_modal_projector}) are not part of this model. The spec's
     * {@code model_type} is the checkpoint's, {@code gemma3}.
     */
    GEMMA3_CONDITIONAL_GENERATION("gemma3", "model.language_model", List.of("model.vision_tower", "model.multi_modal_projector"));

    private final String modelType;
    private final String backbone;
    private final List<String> modulesLeftOut;

    DecoderLayout(String modelType, String backbone, List<String> modulesLeftOut) {
        this.modelType = modelType;
        this.backbone = backbone;
        this.modulesLeftOut = modulesLeftOut;
    }

    /**
     * The dotted paths of the checkpoint class's modules that the model leaves out (its vision tower and projector).
     *
     * @return the paths, empty for a causal LM
     */
    public List<String> modulesLeftOut() {
        return modulesLeftOut;
    }

    /**
     * The dotted path of the backbone (embeddings, layers, final norm).
     *
     * @return {@code model} or {@code model.language_model}
     */
    public String backbone() {
        return backbone;
    }

    /**
     * The {@code model_type} of the whole checkpoint whose language model {@code text} configures.
     *
     * @param text the language model's configuration
     * @return {@code text}'s model_type for a causal LM, else the checkpoint's ({@code gemma3})
     */
    public String modelType(DecoderConfig text) {
        return modelType == null ? text.modelType() : modelType;
    }
}
