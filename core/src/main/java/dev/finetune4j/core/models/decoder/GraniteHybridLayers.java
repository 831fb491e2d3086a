package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

import java.util.List;

/**
 * The layer pattern of Granite 4's {@code granitemoehybrid} configs: attention layers only (granite-4.0-micro, -1b,
 * -350m) or Mamba-2 layers among them (granite-4.0-h-*), and a mixture of experts beside the shared MLP or not
 * (granite-4.0-h-tiny and -h-small have one).
 */
final class GraniteHybridLayers {
    static final String MODEL_TYPE = "granitemoehybrid";

    private GraniteHybridLayers() {
    }

    /**
     * Which layers are Mamba-2 layers: {@code layer_types} (or the older {@code layers_block_type}) lists
     * {@code mamba} (or {@code linear_attention}) and {@code attention} (or {@code full_attention}); without either,
     * every layer is Mamba-2, transformers' default.
     *
     * @param c the parsed config.json
     * @param layerCount {@code num_hidden_layers}
     * @return per layer, whether it is a Mamba-2 layer
     */
    static boolean[] mambaLayers(JsonNode c, int layerCount) {
        boolean[] mamba = new boolean[layerCount];
        String[] types = LayerTypes.read(c, c.has("layer_types") ? "layer_types" : "layers_block_type", layerCount,
                List.of("attention", "full_attention", "mamba", "linear_attention"));
        for (int i = 0; i < layerCount; i++) {
            mamba[i] = types == null || types[i].equals("mamba") || types[i].equals("linear_attention");
        }
        return mamba;
    }

    /**
     * Whether the layers add a mixture of experts beside the shared MLP ({@code num_local_experts} above 0;
     * transformers' default is 8, so a dense model's config says 0).
     *
     * @param c the parsed config.json
     * @return true for granite-4.0-h-tiny and -h-small
     */
    static boolean hasExperts(JsonNode c) {
        return JsonFields.integer(c, "num_local_experts", 8, 0, ConfigLimits.EXPERTS, "config.json") > 0;
    }

    /**
     * Whether the attention layers rotate queries and keys: {@code position_embedding_type} "rope"; null (transformers'
     * default) or "nope" means no position encoding at all.
     *
     * @param c the parsed config.json
     * @return true for rotary embeddings, false for none
     */
    static boolean rotary(JsonNode c) {
        JsonNode type = c.path("position_embedding_type");
        if (type.isMissingNode() || type.isNull() || type.asText().equals("nope")) {
            return false;
        }
        if (!type.asText().equals("rope")) {
            throw new IllegalArgumentException("config.json: position_embedding_type = " + type + " must be \"rope\", "
                    + "\"nope\" or null (no position encoding)");
        }
        return true;
    }
}
