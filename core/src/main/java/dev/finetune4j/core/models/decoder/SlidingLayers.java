package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

import java.util.List;

/**
 * Which layers of a decoder attend through a sliding window, and its width, as transformers derives them from a
 * config.json: its {@code layer_types} when given, else each family's rule.
 *
 * @param window the keys a sliding layer's query sees, itself included; 0 when no layer slides
 * @param layers per layer, whether it slides
 */
record SlidingLayers(int window, boolean[] layers) {
    private static final String SLIDING = "sliding_attention";
    private static final String FULL = "full_attention";

    /**
     * Reads {@code sliding_window} and {@code layer_types}, or the family's rule: every layer of Mistral and Ministral
     * (window 4096 by default, as their transformers classes: a config without the key slides), Ministral 3 (which ignores {@code layer_types}), Mixtral, Phi-3 and StarCoder2 when a
     * window is set; the Qwen families with {@code use_sliding_window} from layer {@code max_window_layers} on;
     * every other layer of Gemma 2 and gpt-oss (the first slides); Gemma 3, Cohere 2 and EXAONE 4 all but every
     * {@code sliding_window_pattern}-th (6, 4 and 4 by default); OLMo 3 all but every 4th; SmolLM3 with {@code use_sliding_window} its layers
     * without rotary.
     *
     * @param ropeLayers per layer, whether it is rotated (SmolLM3 slides where it is not)
     */
    static SlidingLayers fromJson(JsonNode c, String type, int layerCount, boolean[] ropeLayers) {
        String at = "config.json";
        int fallback = switch (type) {
            case "mistral", "gemma2", "gemma3_text", "cohere2", "exaone4", DecoderConfig.MINISTRAL -> 4096;
            default -> 0;
        };
        // null switches the window off, where a family's default would otherwise set one
        int window = c.has("sliding_window") && c.get("sliding_window").isNull() ? 0
                : JsonFields.integer(c, "sliding_window", fallback, 0, ConfigLimits.POSITIONS, at);
        boolean qwen = type.startsWith("qwen");
        if ((qwen || type.equals("smollm3")) && !JsonFields.bool(c, "use_sliding_window", false, at)) {
            window = 0; // Qwen and SmolLM3 configs carry a sliding_window that only use_sliding_window turns on
        }
        if (type.equals(BlockPattern.MODEL_TYPE)) {
            window = 0; // NOTE: transformers' Nemotron-H attention ignores sliding_window: it sees every earlier token
        }
        boolean[] layers = new boolean[layerCount];
        // Granite 4's, Qwen3.5's and LFM2's layer_types tell attention from Mamba-2, linear-attention or convolution
        // layers (GraniteHybridLayers, LinearAttentionConfig, ShortConvConfig), and no layer slides
        boolean hybrid = type.equals(GraniteHybridLayers.MODEL_TYPE) || LinearAttentionConfig.appliesTo(type)
                || ShortConvConfig.appliesTo(type) || type.equals(BlockPattern.MODEL_TYPE);
        // NOTE: Ministral 3's model ignores layer_types (transformers only warns): its window, if set, is every layer's
        boolean ignoresLayerTypes = type.equals(DecoderConfig.MINISTRAL3);
        String[] types = hybrid || ignoresLayerTypes ? null
                : LayerTypes.read(c, "layer_types", layerCount, List.of(FULL, SLIDING));
        if (types != null) {
            for (int i = 0; i < layerCount; i++) {
                layers[i] = types[i].equals(SLIDING);
            }
        } else if (window > 0 && MoeConfig.MODEL_TYPES.contains(type) && qwen) {
            // NOTE: transformers 5 derives the Qwen mixtures' sliding layers by rules of their own, not Qwen2's
            throw new IllegalArgumentException(at + ": use_sliding_window for " + type + " without 'layer_types' is not "
                    + "supported: list each layer's attention in 'layer_types' (\"" + SLIDING + "\" or \"" + FULL + "\")");
        } else if (window > 0) {
            int firstQwenSliding = qwen ? JsonFields.integer(c, "max_window_layers", layerCount, 0, ConfigLimits.LAYERS, at) : 0;
            int pattern = JsonFields.integer(c, "sliding_window_pattern",
                    type.equals("cohere2") || type.equals("exaone4") ? 4 : 6, 1, ConfigLimits.LAYERS, at);
            for (int i = 0; i < layerCount; i++) {
                layers[i] = switch (type) {
                    case "gemma2", "gpt_oss" -> i % 2 == 0;
                    case "gemma3_text", "cohere2", "exaone4" -> (i + 1) % pattern != 0;
                    case "olmo3" -> (i + 1) % 4 != 0;
                    case "smollm3" -> !ropeLayers[i];
                    case "qwen2", "qwen3" -> i >= firstQwenSliding;
                    case "mistral", "mixtral", "phi3", "starcoder2", DecoderConfig.MINISTRAL, DecoderConfig.MINISTRAL3 -> true;
                    default -> false;
                };
            }
        }
        boolean anySliding = false;
        for (boolean sliding : layers) {
            anySliding |= sliding;
        }
        if (anySliding && window == 0) {
            throw new IllegalArgumentException(at + ": 'layer_types' names sliding_attention layers, but "
                    + "'sliding_window' is not set: give the window's width");
        }
        return new SlidingLayers(anySliding ? window : 0, layers);
    }
}
