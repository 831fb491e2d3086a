package dev.finetune4j.core.models.decoder;

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
    CAUSAL_LM(null, "model"),
    /**
     * The language model of Gemma 3's vision-language {@code Gemma3ForConditionalGeneration} (transformers 5):
     * {@code model.language_model.embed_tokens}, {@code model.language_model.layers.N...},
     * {@code model.language_model.norm}, {@code lm_head}. The vision tower and projector beside it
     * ({@code model.vision_tower}, {@code model.multi_modal_projector}) are not part of this model. The spec's
     * {@code model_type} is the checkpoint's, {@code gemma3}.
     */
    GEMMA3_CONDITIONAL_GENERATION("gemma3", "model.language_model");

    private final String modelType;
    private final String backbone;

    DecoderLayout(String modelType, String backbone) {
        this.modelType = modelType;
        this.backbone = backbone;
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
