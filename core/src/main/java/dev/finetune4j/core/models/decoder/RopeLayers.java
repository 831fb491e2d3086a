package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

import java.util.Arrays;

/**
 * Which layers of a decoder rotate their queries and keys. Every layer does, except in SmolLM3, whose
 * {@code no_rope_layers} holds one flag per layer (1: rotary, 0: no position encoding at all, a "NoPE" layer) and
 * which, when that list is absent, leaves out every {@code no_rope_layer_interval}-th layer (the 4th, 8th, ...), and
 * in Granite 4, where no layer does unless {@code position_embedding_type} is "rope", in Nemotron-H, where none does,
 * and in Cohere 2 and EXAONE 4,
 * whose full-attention layers do not ({@link #afterSliding}).
 */
final class RopeLayers {
    private RopeLayers() {
    }

    /**
     * The rotated layers once the sliding ones are known: Cohere 2 rotates in its sliding layers only; EXAONE 4 too
     * when its config sets a window ({@code sliding_window} not null: its full-attention layers then have no position
     * encoding), and in every layer when it does not.
     *
     * @param c the parsed config.json
     * @param type its {@code model_type}
     * @param rotated per layer, whether {@link #fromJson} rotates it
     * @param sliding per layer, whether it slides
     * @return per layer, whether it is rotated
     */
    static boolean[] afterSliding(JsonNode c, String type, boolean[] rotated, boolean[] sliding) {
        boolean windowSet = !c.has("sliding_window") || !c.get("sliding_window").isNull(); // Exaone4Config: 4096
        return switch (type) {
            case "cohere2" -> sliding.clone();
            case "exaone4" -> windowSet ? sliding.clone() : rotated;
            default -> rotated;
        };
    }

    /**
     * Reads the flags of a config.json.
     *
     * @param c the parsed config.json
     * @param type its {@code model_type}
     * @param layerCount {@code num_hidden_layers}
     * @return per layer, whether it is rotated
     */
    static boolean[] fromJson(JsonNode c, String type, int layerCount) {
        boolean[] rotated = new boolean[layerCount];
        // Nemotron-H's attention has no position encoding at all: its Mamba-2 layers order the tokens
        Arrays.fill(rotated, !type.equals(BlockPattern.MODEL_TYPE)
                && (!type.equals(GraniteHybridLayers.MODEL_TYPE) || GraniteHybridLayers.rotary(c)));
        if (!type.equals("smollm3")) {
            return rotated;
        }
        String at = "config.json";
        JsonNode flags = c.path("no_rope_layers");
        if (flags.isArray()) {
            // transformers indexes the list by layer, so it may be longer than the model, never shorter
            if (flags.size() < layerCount) {
                throw new IllegalArgumentException(at + ": 'no_rope_layers' has " + flags.size() + " entries, but "
                        + "num_hidden_layers is " + layerCount + ": give one flag per layer (1 rotary, 0 none)");
            }
            for (int i = 0; i < layerCount; i++) {
                JsonNode flag = flags.get(i);
                if (!flag.isIntegralNumber() || (flag.asInt() != 0 && flag.asInt() != 1)) {
                    throw new IllegalArgumentException(at + ": 'no_rope_layers'[" + i + "] = " + flag
                            + " must be 1 (rotary) or 0 (no position encoding)");
                }
                rotated[i] = flag.asInt() == 1;
            }
            return rotated;
        }
        int interval = JsonFields.integer(c, "no_rope_layer_interval", 4, 1, ConfigLimits.LAYERS, at);
        for (int i = 0; i < layerCount; i++) {
            rotated[i] = (i + 1) % interval != 0;
        }
        return rotated;
    }
}
