package dev.finetune4j.core.models.decoder;

import java.util.List;
import java.util.Map;

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
    CAUSAL_LM(null, List.of(), Map.of()),
    /**
     * The language model of Gemma 3's vision-language {@code Gemma3ForConditionalGeneration} (transformers 5):
     * {@code model.language_model.embed_tokens}, {@code model.language_model.layers.N...},
     * {@code model.language_model.norm}, {@code lm_head}. The vision tower and projector beside it
     * ({@code model.vision_tower}, {@code model.multi_modal_projector}) are not part of this model. The spec's
     * {@code model_type} is the checkpoint's, {@code gemma3}. Transformers 4.50 and 4.51 named the parts
     * {@code language_model.model}, {@code language_model.lm_head}, {@code vision_tower} and
     * {@code multi_modal_projector} (transformers' {@code _checkpoint_conversion_mapping} renames them on load).
     */
    GEMMA3_CONDITIONAL_GENERATION("gemma3", List.of("model.vision_tower", "model.multi_modal_projector"),
            Names.LLAVA_OLDER_PREFIXES),
    /**
     * The language model of Mistral 3's {@code Mistral3ForConditionalGeneration} (Mistral Small 3.1 and 3.2,
     * Magistral Small, Ministral 3), named as Gemma 3's ({@link #GEMMA3_CONDITIONAL_GENERATION}): its vision tower and
     * projector are left out, and the hub's checkpoints hold transformers 4's names, which transformers 5 still writes
     * (its "llava" conversion). The spec's {@code model_type} is {@code mistral3}.
     */
    MISTRAL3_CONDITIONAL_GENERATION("mistral3", List.of("model.vision_tower", "model.multi_modal_projector"),
            Names.LLAVA_OLDER_PREFIXES),
    /**
     * The language model of Qwen3-VL's {@code Qwen3VLForConditionalGeneration}: {@code model.language_model.embed_tokens},
     * {@code model.language_model.layers.N...}, {@code model.language_model.norm}, {@code lm_head}. The vision tower
     * beside it ({@code model.visual}, its deepstack mergers included) is not part of this model. The spec's
     * {@code model_type} is the checkpoint's, {@code qwen3_vl}; the published checkpoints were written in this naming
     * (transformers 4.57 on), so there is no older one.
     */
    QWEN3_VL_CONDITIONAL_GENERATION("qwen3_vl", List.of("model.visual"), Map.of()),
    /**
     * The language model of Qwen3-VL-MoE's {@code Qwen3VLMoeForConditionalGeneration}, named as Qwen3-VL's
     * ({@link #QWEN3_VL_CONDITIONAL_GENERATION}); the spec's {@code model_type} is {@code qwen3_vl_moe}.
     */
    QWEN3_VL_MOE_CONDITIONAL_GENERATION("qwen3_vl_moe", List.of("model.visual"), Map.of()),
    /**
     * The language model of Gemma 4's {@code Gemma4ForConditionalGeneration} (every published Gemma 4), named as
     * Gemma 3's ({@link #GEMMA3_CONDITIONAL_GENERATION}); its vision and audio towers and their embedders
     * ({@code model.vision_tower}, {@code model.audio_tower}, {@code model.embed_vision}, {@code model.embed_audio}) are
     * left out. Written by transformers 5 from the start, so there is no older naming. The spec's {@code model_type}
     * is {@code gemma4}.
     */
    GEMMA4_CONDITIONAL_GENERATION("gemma4", List.of("model.vision_tower", "model.audio_tower", "model.embed_vision",
            "model.embed_audio"), Map.of());

    /** Names shared by several layouts (an enum's constants cannot read its static fields). */
    private static final class Names {
        /**
         * transformers' "llava" conversion of the vision-language classes that it applies to Gemma 3 and Mistral 3:
         * each current prefix and the transformers 4 one it replaced.
         */
        static final Map<String, String> LLAVA_OLDER_PREFIXES = Map.of("model.language_model.", "language_model.model.",
                "lm_head.", "language_model.lm_head.", "model.vision_tower.", "vision_tower.",
                "model.multi_modal_projector.", "multi_modal_projector.");
    }

    private final String modelType;
    private final List<String> modulesLeftOut;
    /** Each current path prefix and the older one it replaced. */
    private final Map<String, String> olderPrefixes;

    DecoderLayout(String modelType, List<String> modulesLeftOut, Map<String, String> olderPrefixes) {
        this.modelType = modelType;
        this.modulesLeftOut = modulesLeftOut;
        this.olderPrefixes = olderPrefixes;
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
     * The path prefix of the decoder's backbone in this layout: {@code model.} in a {@code *ForCausalLM},
     * {@code model.language_model.} in the vision-language classes ({@code lm_head} sits at the root in both).
     *
     * @return the prefix, ending with a dot
     */
    public String backbonePrefix() {
        return this == CAUSAL_LM ? "model." : "model.language_model.";
    }

    /**
     * A weight or module path in the older naming of this layout's class, for finding a weight saved under it.
     *
     * @param currentName a path in transformers 5's naming ({@code model.language_model.norm.weight})
     * @return the older name ({@code language_model.model.norm.weight}), or null when the naming did not change
     */
    public String olderName(String currentName) {
        for (Map.Entry<String, String> e : olderPrefixes.entrySet()) {
            if (currentName.startsWith(e.getKey())) {
                return e.getValue() + currentName.substring(e.getKey().length());
            }
        }
        return null;
    }

    /**
     * A weight or module path in transformers 5's naming, from either naming.
     *
     * @param name a path, current or older ({@code vision_tower.vision_model.post_layernorm.weight})
     * @return the current path ({@code model.vision_tower.vision_model.post_layernorm.weight}); {@code name} when it
     *         is current already
     */
    public String currentName(String name) {
        for (Map.Entry<String, String> e : olderPrefixes.entrySet()) {
            if (name.startsWith(e.getValue())) {
                return e.getKey() + name.substring(e.getValue().length());
            }
        }
        return name;
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
