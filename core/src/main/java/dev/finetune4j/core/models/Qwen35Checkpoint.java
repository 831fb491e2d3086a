package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.decoder.DecoderConfig;

/**
 * What a folder of Qwen3.5's vision-language {@code Qwen3_5ForConditionalGeneration} (config.json {@code model_type}
 * {@code qwen3_5}: every published Qwen3.5 dense model) holds for its language model, which this library loads as
 * transformers' {@code AutoModelForCausalLM} does, a {@code Qwen3_5ForCausalLM}:
 * <ul>
 *   <li>config.json: the language model's settings in {@code text_config} ({@code qwen3_5_text});</li>
 *   <li>weights: the language model under {@code model.language_model.*}, which the causal LM names {@code model.*}
 *       (transformers drops the {@code language_model} prefix as it loads), and {@code lm_head.weight}; the vision
 *       tower ({@code model.visual.*}) and the multi-token-prediction layers ({@code mtp.*}) are not loaded.</li>
 * </ul>
 * A model loaded from such a folder is saved as the text model ({@link #savedConfig}), as
 * {@code Qwen3_5ForCausalLM.save_pretrained} saves it, and PEFT adapters name its modules as they are named on that
 * class ({@code base_model.model.model.layers.N...}).
 *
 * <p>Thread safety: stateless.
 */
final class Qwen35Checkpoint {
    /** The config.json {@code model_type} of a Qwen3_5ForConditionalGeneration. */
    static final String MODEL_TYPE = "qwen3_5";
    private static final String LANGUAGE_MODEL = "model.language_model.";

    private Qwen35Checkpoint() {
    }

    /**
     * The language model's config.json: {@code text_config} over {@code Qwen3_5TextConfig}'s defaults, with the
     * checkpoint's top-level {@code tie_word_embeddings} when it has one, and {@code model_type} {@code qwen3_5_text}.
     *
     * @param config the checkpoint's config.json
     * @return the text model's config
     * @throws IllegalArgumentException when {@code text_config} is not an object or names another model type
     */
    static ObjectNode textConfig(JsonNode config) {
        JsonNode text = config.path("text_config");
        if (!text.isObject()) {
            throw new IllegalArgumentException("config.json of model_type " + MODEL_TYPE + " has no 'text_config' object "
                    + "(found " + (text.isMissingNode() ? "none" : text.getNodeType()) + "): a Qwen3_5ForConditionalGeneration "
                    + "folder keeps its language model's settings there; download config.json again");
        }
        String textType = text.path("model_type").asText(DecoderConfig.QWEN35_TEXT);
        if (!textType.equals(DecoderConfig.QWEN35_TEXT)) {
            throw new IllegalArgumentException("config.json: text_config.model_type is '" + textType + "', but a "
                    + MODEL_TYPE + " checkpoint's language model is " + DecoderConfig.QWEN35_TEXT);
        }
        ObjectNode out = textDefaults();
        out.setAll((ObjectNode) text);
        out.put("model_type", DecoderConfig.QWEN35_TEXT);
        if (config.has("tie_word_embeddings")) {
            out.set("tie_word_embeddings", config.get("tie_word_embeddings"));
        }
        return out;
    }

    /**
     * The config.json a model loaded from a {@code qwen3_5} folder is saved with: its text config, for
     * {@code Qwen3_5ForCausalLM}.
     *
     * @param config the checkpoint's config.json
     * @return the text model's config, naming its architecture
     */
    static ObjectNode savedConfig(JsonNode config) {
        ObjectNode text = textConfig(config);
        text.putArray("architectures").add("Qwen3_5ForCausalLM");
        return text;
    }

    /** Qwen3_5TextConfig's defaults for the sizes a text_config may leave out. */
    private static ObjectNode textDefaults() {
        ObjectNode d = JsonNodeFactory.instance.objectNode();
        d.put("vocab_size", 248_320);
        d.put("hidden_size", 4096);
        d.put("intermediate_size", 12_288);
        d.put("num_hidden_layers", 32);
        d.put("num_attention_heads", 16);
        d.put("num_key_value_heads", 4);
        return d;
    }

    /**
     * Where the checkpoint stores a causal LM weight: the language model's under {@code model.language_model.}.
     *
     * @param name the causal LM's weight name ({@code model.layers.0.mlp.up_proj.weight})
     * @return the checkpoint's name for it, or null for a weight stored under its own name ({@code lm_head.weight})
     */
    static String storedName(String name) {
        return name.startsWith("model.") ? LANGUAGE_MODEL + name.substring("model.".length()) : null;
    }

    /**
     * Whether a checkpoint tensor is one of the parts the causal LM leaves out: the vision tower and the
     * multi-token-prediction layers.
     *
     * @param name a checkpoint tensor's name
     * @return true for a tensor not loaded
     */
    static boolean isLeftOut(String name) {
        return name.startsWith("model.visual.") || name.startsWith("mtp.");
    }
}
