package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderLayout;
import dev.finetune4j.core.models.decoder.Gemma4Config;
import dev.finetune4j.core.models.decoder.LatentAttentionConfig;
import dev.finetune4j.core.models.decoder.MoeConfig;

import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * A vision-language checkpoint whose language model this library loads, trains and runs on text, one row per
 * config.json {@code model_type}. Every row keeps the language model's settings in {@code text_config} (fields left out
 * take the text config class's defaults) and its weights under {@code model.language_model.*} beside
 * {@code lm_head.weight} and a vision tower, which is never loaded. The rows differ in how a user's Python code loads
 * the checkpoint, which decides the names the model, its saved folder and its adapters use:
 * <ul>
 *   <li>{@code qwen3_5}, {@code qwen3_5_moe} (Qwen3.5): transformers' {@code AutoModelForCausalLM} loads the language
 *       model alone as a {@code Qwen3_5ForCausalLM} (weights {@code model.*}), so this library does the same
 *       ({@link DecoderLayout#CAUSAL_LM}) and saves that text model (its multi-token-prediction layers,
 *       {@code mtp.*}, are {@link MultiTokenPrediction}'s to leave out);</li>
 *   <li>{@code gemma3} (Gemma 3 4B, 12B, 27B), {@code qwen3_vl} (Qwen3-VL 2B to 32B, Instruct and Thinking),
 *       {@code mistral3} (Mistral Small 3.1 and 3.2, Magistral Small, Ministral 3) and {@code gemma4} (Gemma 4):
 *       {@code AutoModelForCausalLM} takes {@code gemma3} as the whole {@code Gemma3ForConditionalGeneration} and
 *       refuses the others, so users load the whole {@code *ForConditionalGeneration} and PEFT names its modules
 *       {@code base_model.model.model.language_model.layers.N...}: the model keeps that naming (its layout), and a saved
 *       folder is the whole checkpoint again, its vision tower copied from the folder the model came from.</li>
 * </ul>
 *
 * <p>Thread safety: immutable.
 */
enum VisionLanguageCheckpoint {
    /**
     * Gemma 3's {@code Gemma3ForConditionalGeneration}: text_config over transformers 5's {@code Gemma3TextConfig}
     * defaults (the published configs leave out most of them); transformers 4.50 and 4.51 exports named the parts
     * {@code language_model.model.*}, {@code language_model.lm_head}, {@code vision_tower.*} and
     * {@code multi_modal_projector.*} ({@link DecoderLayout#olderName}).
     */
    GEMMA3("gemma3", "Gemma3ForConditionalGeneration", List.of("gemma3_text"), "gemma3_text",
            DecoderLayout.GEMMA3_CONDITIONAL_GENERATION, null, List.of(), true, "vision tower and projector",
            VisionLanguageCheckpoint::gemma3Defaults),
    /** Qwen3.5's dense {@code Qwen3_5ForConditionalGeneration}, loaded and saved as a {@code Qwen3_5ForCausalLM}. */
    QWEN3_5("qwen3_5", "Qwen3_5ForConditionalGeneration", List.of(DecoderConfig.QWEN35_TEXT), DecoderConfig.QWEN35_TEXT,
            DecoderLayout.CAUSAL_LM, "Qwen3_5ForCausalLM", List.of("model.visual."), true, "vision tower",
            () -> qwen35Defaults(false)),
    /** Qwen3.5-MoE's {@code Qwen3_5MoeForConditionalGeneration}, loaded and saved as a {@code Qwen3_5MoeForCausalLM}. */
    QWEN3_5_MOE("qwen3_5_moe", "Qwen3_5MoeForConditionalGeneration", List.of(DecoderConfig.QWEN35_MOE_TEXT),
            DecoderConfig.QWEN35_MOE_TEXT, DecoderLayout.CAUSAL_LM, "Qwen3_5MoeForCausalLM",
            List.of("model.visual."), true, "vision tower",
            () -> qwen35Defaults(true)),
    /**
     * Qwen3-VL's {@code Qwen3VLForConditionalGeneration}: its language model ({@code qwen3_vl_text}) is Qwen3's block
     * (per-head q/k RMSNorms, GQA, SwiGLU, no biases), built here as a {@code qwen3} decoder. Its interleaved M-RoPE
     * ({@code mrope_section}, {@code mrope_interleaved}) turns each frequency by the temporal, height or width
     * position; text tokens get the same position in all three, so on text it is plain rotary at
     * {@code rope_theta}, and the sections are not read. Deepstack adds vision features to the first layers' image
     * tokens only. The head is tied by the top-level {@code tie_word_embeddings} alone (default false;
     * {@code text_config}'s is ignored by transformers 5), which the 2B and 4B set.
     */
    QWEN3_VL("qwen3_vl", "Qwen3VLForConditionalGeneration", List.of("qwen3_vl_text"), "qwen3",
            DecoderLayout.QWEN3_VL_CONDITIONAL_GENERATION, null, List.of(), false, "vision tower",
            () -> qwen3VlDefaults(false)),
    /**
     * Qwen3-VL-MoE's {@code Qwen3VLMoeForConditionalGeneration} (Qwen3-VL-30B-A3B, 235B-A22B): Qwen3-VL's language
     * model with Qwen3-MoE's mixture, its experts stacked as the checkpoints store them ({@code mlp.experts.gate_up_proj}
     * (E, hidden, 2 x moe_intermediate: gate then up), {@code mlp.experts.down_proj}: {@link MoeConfig.Naming#QWEN3_VL}).
     */
    QWEN3_VL_MOE("qwen3_vl_moe", "Qwen3VLMoeForConditionalGeneration", List.of(MoeConfig.QWEN3_VL_MOE_TEXT),
            MoeConfig.QWEN3_VL_MOE_TEXT, DecoderLayout.QWEN3_VL_MOE_CONDITIONAL_GENERATION, null, List.of(), false,
            "vision tower", () -> qwen3VlDefaults(true)),
    /**
     * Mistral 3's {@code Mistral3ForConditionalGeneration}: Mistral Small 3.1 and 3.2 and Magistral Small, whose
     * language model is a {@code mistral} (Mistral3Config's default text type), Ministral 3, whose is a
     * {@code ministral3}, and Mistral Small 4, whose is a {@code mistral4}; built as that type, each with its own config class's defaults (the decoder's family
     * defaults). The head is tied by the top-level {@code tie_word_embeddings}, else by the text config's: transformers
     * 5 defaults the top level to true but leaves a stored {@code lm_head} untied, so for a checkpoint that matches its
     * config the two rules agree.
     */
    MISTRAL3("mistral3", "Mistral3ForConditionalGeneration", List.of("mistral", DecoderConfig.MINISTRAL3,
            LatentAttentionConfig.MISTRAL4_MODEL_TYPE), null,
            DecoderLayout.MISTRAL3_CONDITIONAL_GENERATION, null, List.of(), true, "vision tower and projector",
            JsonNodeFactory.instance::objectNode),
    /**
     * Gemma 4's {@code Gemma4ForConditionalGeneration} (every published Gemma 4: E2B, E4B, 31B): its language model is
     * a {@code gemma4_text}, with Gemma4TextConfig's defaults (the decoder's family defaults); the head is tied by the
     * top-level {@code tie_word_embeddings} (default true). On text the class's logits are its language model's: the
     * vision and audio tokens it would replace never occur, and its {@code "vision"} bidirectional mask is causal.
     */
    GEMMA4("gemma4", "Gemma4ForConditionalGeneration", List.of(Gemma4Config.MODEL_TYPE), Gemma4Config.MODEL_TYPE,
            DecoderLayout.GEMMA4_CONDITIONAL_GENERATION, null, List.of(), true,
            "vision and audio towers and their embedders", JsonNodeFactory.instance::objectNode);
    private static final String LANGUAGE_MODEL = "model.language_model.";

    private final String modelType;
    private final String architecture;
    private final List<String> textTypes;
    private final String decoderType;
    private final DecoderLayout layout;
    private final String causalLm;
    private final List<String> leftOutPrefixes;
    private final boolean textTieApplies;
    private final String leftOutParts;
    private final Supplier<ObjectNode> textDefaults;

    /**
     * @param modelType      the checkpoint's config.json {@code model_type}
     * @param architecture   the transformers class the checkpoint is saved from, for messages
     * @param textTypes      the {@code text_config.model_type}s it may carry, the first its default when left out
     * @param decoderType    the {@code model_type} this library builds the language model as; null for the text
     *                       config's own
     * @param layout         where the backbone sits in the model built
     * @param causalLm       the causal LM class saved folders name, for a {@link DecoderLayout#CAUSAL_LM} layout
     * @param leftOutPrefixes the tensor name prefixes not loaded, for a {@link DecoderLayout#CAUSAL_LM} layout (a
     *                       vision-language layout names its own, {@link DecoderLayout#modulesLeftOut})
     * @param textTieApplies whether {@code text_config.tie_word_embeddings} counts when the top level has none
     * @param leftOutParts   what the tensors not loaded are, for the log
     * @param textDefaults   the text config class's defaults for the fields the decoder reads
     */
    VisionLanguageCheckpoint(String modelType, String architecture, List<String> textTypes, String decoderType,
                             DecoderLayout layout, String causalLm, List<String> leftOutPrefixes,
                             boolean textTieApplies, String leftOutParts, Supplier<ObjectNode> textDefaults) {
        this.modelType = modelType;
        this.architecture = architecture;
        this.textTypes = textTypes;
        this.decoderType = decoderType;
        this.layout = layout;
        this.causalLm = causalLm;
        this.leftOutPrefixes = leftOutPrefixes;
        this.textTieApplies = textTieApplies;
        this.leftOutParts = leftOutParts;
        this.textDefaults = textDefaults;
    }

    /**
     * The row of a config.json, if it is one of these checkpoints'.
     *
     * @param config a parsed config.json
     * @return the row, or null for any other {@code model_type}
     */
    static VisionLanguageCheckpoint of(JsonNode config) {
        String type = config.path("model_type").asText("");
        return Arrays.stream(values()).filter(v -> v.modelType.equals(type)).findFirst().orElse(null);
    }

    /**
     * The row whose models are built with {@code layout}.
     *
     * @param layout a vision-language layout (not {@link DecoderLayout#CAUSAL_LM}, which several rows share)
     * @return the row
     * @throws IllegalArgumentException for {@link DecoderLayout#CAUSAL_LM}
     */
    static VisionLanguageCheckpoint of(DecoderLayout layout) {
        return Arrays.stream(values()).filter(v -> v.layout == layout && layout != DecoderLayout.CAUSAL_LM)
                .findFirst().orElseThrow(() -> new IllegalArgumentException("no vision-language checkpoint is built "
                        + "with layout " + layout));
    }

    /**
     * The checkpoint's {@code model_type}.
     *
     * @return e.g. {@code qwen3_vl}
     */
    String modelType() {
        return modelType;
    }

    /**
     * The transformers class the checkpoint is saved from.
     *
     * @return e.g. {@code Qwen3VLForConditionalGeneration}
     */
    String architecture() {
        return architecture;
    }

    /**
     * Where the backbone sits in the model built from such a checkpoint.
     *
     * @return {@link DecoderLayout#CAUSAL_LM} for the rows saved as their text model, else the checkpoint's layout
     */
    DecoderLayout layout() {
        return layout;
    }

    /**
     * What the tensors this library does not load are, for the log.
     *
     * @return e.g. {@code vision tower and projector}
     */
    String leftOutParts() {
        return leftOutParts;
    }

    /**
     * The language model's config.json as the decoder reads it: {@code text_config} over its config class's
     * defaults, the tie of the head as transformers decides it, and the {@code model_type} it is built as.
     *
     * @param config the checkpoint's config.json, of this row's {@code model_type}
     * @return the text model's config
     * @throws IllegalArgumentException when {@code text_config} is not an object or names another model type
     */
    ObjectNode textConfig(JsonNode config) {
        JsonNode text = config.path("text_config");
        if (!text.isObject()) {
            throw new IllegalArgumentException("config.json of model_type " + modelType + " has no 'text_config' object "
                    + "(found " + (text.isMissingNode() ? "none" : text.getNodeType()) + "): a " + architecture
                    + " folder keeps its language model's settings there; download config.json again");
        }
        String type = text.path("model_type").asText(textTypes.getFirst());
        if (!textTypes.contains(type)) {
            throw new IllegalArgumentException("config.json: text_config.model_type is '" + type + "', but a "
                    + modelType + " checkpoint's language model is " + String.join(" or ", textTypes) + ": fix "
                    + "text_config.model_type or the top-level model_type");
        }
        ObjectNode out = textDefaults.get();
        out.setAll((ObjectNode) text);
        out.put("model_type", decoderType == null ? type : decoderType);
        if (config.has("tie_word_embeddings")) {
            out.set("tie_word_embeddings", config.get("tie_word_embeddings"));
        } else if (!textTieApplies) {
            out.put("tie_word_embeddings", false);
        }
        return out;
    }

    /**
     * The config.json a model loaded from such a folder is saved with: the text config naming its causal LM class
     * for the rows saved as their text model, else the checkpoint's own.
     *
     * @param config the checkpoint's config.json, of this row's {@code model_type}
     * @return the config to write
     */
    JsonNode savedConfig(JsonNode config) {
        if (layout != DecoderLayout.CAUSAL_LM) {
            return config;
        }
        ObjectNode text = textConfig(config);
        text.putArray("architectures").add(causalLm);
        return text;
    }

    /**
     * Where the checkpoint may store a weight of the model built from it under another name.
     *
     * @param name the model's weight name ({@code model.layers.0.mlp.up_proj.weight} for a text model)
     * @return the checkpoint's name for it ({@code model.language_model.layers.0.mlp.up_proj.weight}; an older
     *         naming's for a vision-language layout), or null when there is no other
     */
    String storedName(String name) {
        if (layout != DecoderLayout.CAUSAL_LM) {
            return layout.olderName(name);
        }
        return name.startsWith("model.") ? LANGUAGE_MODEL + name.substring("model.".length()) : null;
    }

    /**
     * Whether a checkpoint tensor is one of the parts the language model leaves out (the vision tower, Gemma 3's
     * projector), in any naming.
     *
     * @param name a checkpoint tensor's name
     * @return true for a tensor not loaded
     */
    boolean isLeftOut(String name) {
        if (layout == DecoderLayout.CAUSAL_LM) {
            return leftOutPrefixes.stream().anyMatch(name::startsWith);
        }
        String current = layout.currentName(name);
        return layout.modulesLeftOut().stream().anyMatch(m -> current.startsWith(m + "."));
    }

    /**
     * Gemma3TextConfig's defaults that the decoder reads. The rotary bases are given in both forms, since a
     * text_config sets either {@code rope_parameters} (transformers 5) or {@code rope_theta} and
     * {@code rope_local_base_freq} (4.5x); {@code rope_parameters}, when set, replaces these.
     */
    private static ObjectNode gemma3Defaults() {
        ObjectNode d = JsonNodeFactory.instance.objectNode();
        d.put("vocab_size", 262_208);
        d.put("hidden_size", 2304);
        d.put("intermediate_size", 9216);
        d.put("num_hidden_layers", 26);
        d.put("num_attention_heads", 8);
        d.put("num_key_value_heads", 4);
        d.put("head_dim", 256);
        d.put("hidden_activation", "gelu_pytorch_tanh");
        d.put("max_position_embeddings", 131_072);
        d.put("rms_norm_eps", 1e-6);
        d.put("tie_word_embeddings", true);
        d.put("attention_bias", false);
        d.put("attention_dropout", 0.0);
        d.put("query_pre_attn_scalar", 256);
        d.put("sliding_window", 4096);
        d.put("sliding_window_pattern", 6);
        d.putNull("final_logit_softcapping");
        d.putNull("attn_logit_softcapping");
        d.put("rope_theta", 1_000_000.0);
        d.put("rope_local_base_freq", 10_000.0);
        return d;
    }

    /** Qwen3_5TextConfig's or Qwen3_5MoeTextConfig's defaults for the sizes a text_config may leave out. */
    private static ObjectNode qwen35Defaults(boolean moe) {
        ObjectNode d = JsonNodeFactory.instance.objectNode();
        d.put("vocab_size", 248_320);
        d.put("hidden_size", moe ? 2048 : 4096);
        if (!moe) {
            d.put("intermediate_size", 12_288);
        }
        d.put("num_hidden_layers", moe ? 40 : 32);
        d.put("num_attention_heads", 16);
        d.put("num_key_value_heads", moe ? 2 : 4);
        return d;
    }

    /**
     * Qwen3VLTextConfig's or Qwen3VLMoeTextConfig's defaults (transformers 5.17) that the decoder reads; num_key_value_heads defaults to the
     * heads there as in the decoder. {@code rope_theta} is its {@code default_theta}, which a text_config's own
     * (top-level, the published form, or in {@code rope_parameters}) replaces.
     */
    private static ObjectNode qwen3VlDefaults(boolean moe) {
        ObjectNode d = JsonNodeFactory.instance.objectNode();
        d.put("vocab_size", 151_936);
        d.put("hidden_size", moe ? 2048 : 4096);
        d.put("intermediate_size", moe ? 5632 : 22_016);
        d.put("num_hidden_layers", moe ? 24 : 32);
        d.put("num_attention_heads", moe ? 16 : 32);
        d.put("head_dim", 128);
        d.put("hidden_act", "silu");
        d.put("max_position_embeddings", 128_000);
        d.put("rms_norm_eps", 1e-6);
        d.put("attention_bias", false);
        d.put("rope_theta", 500_000.0);
        return d;
    }
}
