package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

/**
 * What finetune4j loads of Granite 4's {@code granitemoehybrid} configs: the models whose every layer is attention
 * and whose MLP is dense (granite-4.0-micro, granite-4.0-1b, granite-4.0-350m). The hybrid models interleave
 * Mamba-2 layers and add a mixture of experts (granite-4.0-h-*), which are refused here with what to use instead.
 */
final class GraniteHybridLayers {
    static final String MODEL_TYPE = "granitemoehybrid";

    private GraniteHybridLayers() {
    }

    /**
     * Checks that every layer is attention ({@code layer_types}, or the older {@code layers_block_type}; transformers'
     * default, when neither is given, is Mamba-2 throughout) and that there are no experts.
     *
     * @param c the parsed config.json
     * @param layerCount {@code num_hidden_layers}
     */
    static void requireAttentionOnly(JsonNode c, int layerCount) {
        String at = "config.json";
        JsonNode types = c.has("layer_types") ? c.get("layer_types") : c.path("layers_block_type");
        if (!types.isArray()) {
            throw new IllegalArgumentException(at + ": a granitemoehybrid config without 'layer_types' means Mamba-2 "
                    + "layers throughout, which finetune4j does not implement; it loads the attention-only Granite 4.0 "
                    + "models (granite-4.0-micro, -1b, -350m), whose config lists every layer as \"attention\"");
        }
        if (types.size() != layerCount) {
            throw new IllegalArgumentException(at + ": 'layer_types' lists " + types.size() + " layers, but "
                    + "num_hidden_layers is " + layerCount);
        }
        for (int i = 0; i < layerCount; i++) {
            String type = types.get(i).asText();
            if (type.equals("mamba") || type.equals("linear_attention")) {
                throw new IllegalArgumentException(at + ": layer " + i + " is a Mamba-2 layer ('" + type + "'): the "
                        + "hybrid Granite 4.0 H models are not supported; finetune4j loads the attention-only Granite 4.0 "
                        + "models (granite-4.0-micro, -1b, -350m)");
            }
            if (!type.equals("attention") && !type.equals("full_attention")) {
                throw new IllegalArgumentException(at + ": 'layer_types'[" + i + "] = " + types.get(i)
                        + " is not one of \"attention\" (or \"full_attention\"), \"mamba\" (or \"linear_attention\")");
            }
        }
        // GraniteMoeHybridConfig's default is 8 experts: a config must say 0 for a dense model
        int experts = JsonFields.integer(c, "num_local_experts", 8, 0, ConfigLimits.EXPERTS, at);
        if (experts > 0) {
            throw new IllegalArgumentException(at + ": num_local_experts = " + experts + " (a mixture of experts beside "
                    + "the shared MLP, as the Granite 4.0 H models have) is not supported; finetune4j loads the dense "
                    + "Granite 4.0 models, whose config says num_local_experts: 0");
        }
    }

    /**
     * Whether the layers rotate queries and keys: {@code position_embedding_type} "rope", or none at all when it is
     * null (transformers' default).
     *
     * @param c the parsed config.json
     * @return true for rotary embeddings, false for none
     */
    static boolean rotary(JsonNode c) {
        JsonNode type = c.path("position_embedding_type");
        if (type.isMissingNode() || type.isNull()) {
            return false;
        }
        if (!type.asText().equals("rope")) {
            throw new IllegalArgumentException("config.json: position_embedding_type = " + type + " must be \"rope\" "
                    + "or null (no position encoding)");
        }
        return true;
    }
}
