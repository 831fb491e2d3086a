package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.decoder.DecoderConfig;

import java.util.Map;

/**
 * What a folder of Qwen3.5's vision-language {@code Qwen3_5ForConditionalGeneration} or
 * {@code Qwen3_5MoeForConditionalGeneration} (config.json {@code model_type} {@code qwen3_5} or {@code qwen3_5_moe}:
 * every published Qwen3.5 model) holds for its language model, which this library loads as transformers'
 * {@code AutoModelForCausalLM} does, a {@code Qwen3_5ForCausalLM} or {@code Qwen3_5MoeForCausalLM}:
 * <ul>
 *   <li>config.json: the language model's settings in {@code text_config} ({@code qwen3_5_text} or
 *       {@code qwen3_5_moe_text});</li>
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
    /** The text model's {@code model_type} and causal LM class, by the checkpoint's {@code model_type}. */
    private static final Map<String, String[]> TEXT_MODELS = Map.of(
            "qwen3_5", new String[]{DecoderConfig.QWEN35_TEXT, "Qwen3_5ForCausalLM"},
            "qwen3_5_moe", new String[]{DecoderConfig.QWEN35_MOE_TEXT, "Qwen3_5MoeForCausalLM"});
    private static final String LANGUAGE_MODEL = "model.language_model.";

    private Qwen35Checkpoint() {
    }

    /**
     * Whether a config.json is one of these checkpoints'.
     *
     * @param config a parsed config.json
     * @return true for {@code model_type} {@code qwen3_5} or {@code qwen3_5_moe}
     */
    static boolean isOne(JsonNode config) {
        return TEXT_MODELS.containsKey(config.path("model_type").asText(""));
    }

    /**
     * The language model's config.json: {@code text_config} over its config class's defaults for the sizes, with
     * the checkpoint's top-level {@code tie_word_embeddings} when it has one, and the text {@code model_type}.
     *
     * @param config the checkpoint's config.json, {@link #isOne} of these
     * @return the text model's config
     * @throws IllegalArgumentException when {@code text_config} is not an object or names another model type
     */
    static ObjectNode textConfig(JsonNode config) {
        String type = config.path("model_type").asText("");
        String textModel = TEXT_MODELS.get(type)[0];
        JsonNode text = config.path("text_config");
        if (!text.isObject()) {
            throw new IllegalArgumentException("config.json of model_type " + type + " has no 'text_config' object "
                    + "(found " + (text.isMissingNode() ? "none" : text.getNodeType()) + "): a Qwen3.5 vision-language "
                    + "folder keeps its language model's settings there; download config.json again");
        }
        String textType = text.path("model_type").asText(textModel);
        if (!textType.equals(textModel)) {
            throw new IllegalArgumentException("config.json: text_config.model_type is '" + textType + "', but a "
                    + type + " checkpoint's language model is " + textModel);
        }
        ObjectNode out = textDefaults(textModel);
        out.setAll((ObjectNode) text);
        out.put("model_type", textModel);
        if (config.has("tie_word_embeddings")) {
            out.set("tie_word_embeddings", config.get("tie_word_embeddings"));
        }
        return out;
    }

    /**
     * The config.json a model loaded from one of these folders is saved with: its text config, for its causal LM
     * class ({@code Qwen3_5ForCausalLM}, {@code Qwen3_5MoeForCausalLM}).
     *
     * @param config the checkpoint's config.json, {@link #isOne} of these
     * @return the text model's config, naming its architecture
     */
    static ObjectNode savedConfig(JsonNode config) {
        ObjectNode text = textConfig(config);
        text.putArray("architectures").add(TEXT_MODELS.get(config.path("model_type").asText())[1]);
        return text;
    }

    /** Qwen3_5TextConfig's or Qwen3_5MoeTextConfig's defaults for the sizes a text_config may leave out. */
    private static ObjectNode textDefaults(String textModel) {
        boolean moe = textModel.equals(DecoderConfig.QWEN35_MOE_TEXT);
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
