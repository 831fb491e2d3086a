package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.decoder.DecoderLayout;

/**
 * What a folder of Gemma 3's vision-language {@code Gemma3ForConditionalGeneration} (config.json
 * {@code model_type} {@code gemma3}: Gemma 3 4B, 12B, 27B) holds for its language model, which this library trains
 * and runs alone:
 * <ul>
 *   <li>config.json: the language model's settings in {@code text_config}, where fields left out take
 *       transformers' {@code Gemma3TextConfig} defaults (the published configs leave out most of them);</li>
 *   <li>weights: transformers 5 (and 4.52 on) names the language model {@code model.language_model.*} and the
 *       head {@code lm_head.weight}; exports of transformers 4.50 and 4.51 {@code language_model.model.*} and
 *       {@code language_model.lm_head.weight}, which transformers renames on load ({@link DecoderLayout#olderName});
 *       the vision tower and projector are {@code model.vision_tower.*} and {@code model.multi_modal_projector.*},
 *       formerly without {@code model.}.</li>
 * </ul>
 *
 * <p>Thread safety: stateless.
 */
final class Gemma3Multimodal {
    /** The config.json {@code model_type} of a Gemma3ForConditionalGeneration. */
    static final String MODEL_TYPE = "gemma3";
    /** The name of the class whose folders these are, for messages. */
    static final String ARCHITECTURE = "Gemma3ForConditionalGeneration";

    /** The module tree and names of such a checkpoint. */
    static final DecoderLayout LAYOUT = DecoderLayout.GEMMA3_CONDITIONAL_GENERATION;

    private Gemma3Multimodal() {
    }

    /**
     * The language model's config.json as transformers builds it: {@code text_config} over Gemma3TextConfig's
     * defaults (transformers 5.x), with the checkpoint's {@code tie_word_embeddings} (top-level in transformers 5,
     * which ties the head of Gemma3ForConditionalGeneration by it), and {@code model_type} {@code gemma3_text}.
     *
     * @param config the checkpoint's config.json
     * @return the text model's config
     * @throws IllegalArgumentException when {@code text_config} is not an object or names another model type
     */
    static ObjectNode textConfig(JsonNode config) {
        JsonNode text = config.path("text_config");
        if (!text.isObject()) {
            throw new IllegalArgumentException("config.json of model_type " + MODEL_TYPE + " has no 'text_config' object "
                    + "(found " + (text.isMissingNode() ? "none" : text.getNodeType()) + "): a " + ARCHITECTURE
                    + " folder keeps its language model's settings there; download config.json again");
        }
        String textType = text.path("model_type").asText("gemma3_text");
        if (!textType.equals("gemma3_text")) {
            throw new IllegalArgumentException("config.json: text_config.model_type is '" + textType + "', but a "
                    + MODEL_TYPE + " checkpoint's language model is gemma3_text");
        }
        ObjectNode out = textDefaults();
        out.setAll((ObjectNode) text);
        out.put("model_type", "gemma3_text");
        if (config.has("tie_word_embeddings")) {
            out.set("tie_word_embeddings", config.get("tie_word_embeddings"));
        }
        return out;
    }

    /**
     * Gemma3TextConfig's defaults that the decoder reads. The rotary bases are given in both forms, since a
     * text_config sets either {@code rope_parameters} (transformers 5) or {@code rope_theta} and
     * {@code rope_local_base_freq} (4.5x); {@code rope_parameters}, when set, replaces these.
     */
    private static ObjectNode textDefaults() {
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

    /**
     * Whether a checkpoint tensor belongs to the vision tower or the projector, in either naming.
     *
     * @param name a checkpoint tensor's name
     * @return true for the parts this library does not load
     */
    static boolean isVisionPart(String name) {
        String current = LAYOUT.currentName(name);
        return LAYOUT.modulesLeftOut().stream().anyMatch(m -> current.startsWith(m + "."));
    }
}
