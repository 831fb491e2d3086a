package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;

import java.util.Arrays;
import java.util.List;

/**
 * The short-convolution layers of Liquid AI's LFM2 ({@code lfm2}): which layers mix tokens by a gated depthwise
 * convolution ({@code conv}) instead of self-attention, as {@code Lfm2Config} reads them.
 *
 * @param layers per layer, whether it is a convolution layer
 * @param kernel the convolution's width over time ({@code conv_L_cache})
 * @param bias whether {@code in_proj}, the convolution and {@code out_proj} have biases ({@code conv_bias})
 */
public record ShortConvConfig(boolean[] layers, int kernel, boolean bias) {
    /** The {@code model_type} of LFM2. */
    static final String MODEL_TYPE = "lfm2";
    /** The {@code model_type} of LFM2-MoE: LFM2's layers, a mixture of experts in most of them. */
    static final String MOE_MODEL_TYPE = "lfm2_moe";

    /**
     * Whether a {@code model_type} has LFM2's layers.
     *
     * @param type the config's {@code model_type}
     * @return true for {@code lfm2} and {@code lfm2_moe}
     */
    static boolean appliesTo(String type) {
        return type.equals(MODEL_TYPE) || type.equals(MOE_MODEL_TYPE);
    }

    /**
     * Parameters of one convolution layer's matrices: {@code in_proj} (3C, C) and {@code out_proj} (C, C).
     *
     * @param hidden the model's hidden size C
     * @return the count
     */
    long parameterCount(long hidden) {
        return 4 * hidden * hidden;
    }

    /**
     * Reads the layer pattern and the convolution's settings: {@code layer_types} ({@code conv} or
     * {@code full_attention} per layer), else the attention layers {@code full_attn_idxs} lists (every layer without
     * either, as Lfm2Config defaults).
     *
     * @param c the parsed config.json
     * @param layerCount {@code num_hidden_layers}
     * @return the settings
     * @throws IllegalArgumentException naming the field and the layer that is wrong
     */
    static ShortConvConfig fromJson(JsonNode c, int layerCount) {
        String at = "config.json";
        boolean[] conv = new boolean[layerCount];
        String[] types = LayerTypes.read(c, "layer_types", layerCount, List.of("conv", "full_attention"));
        JsonNode attention = c.path("full_attn_idxs");
        if (types != null) {
            for (int i = 0; i < layerCount; i++) {
                conv[i] = types[i].equals("conv");
            }
        } else if (attention.isArray()) {
            Arrays.fill(conv, true);
            for (JsonNode index : attention) {
                if (!index.isInt() || index.asInt() < 0 || index.asInt() >= layerCount) {
                    throw new IllegalArgumentException(at + ": 'full_attn_idxs' holds " + index + ", not a layer index "
                            + "in [0, " + layerCount + ")");
                }
                conv[index.asInt()] = false;
            }
        }
        return new ShortConvConfig(conv, JsonFields.integer(c, "conv_L_cache", 3, 1, 64, at),
                JsonFields.bool(c, "conv_bias", false, at));
    }
}
