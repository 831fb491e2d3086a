package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

import java.util.Iterator;
import java.util.Map;

/**
 * What Gemma 4's language model ({@code gemma4_text}) adds to Gemma 3's layer, read from its config.json:
 * <ul>
 *   <li>full-attention layers with heads of their own size and count ({@code global_head_dim},
 *       {@code num_global_key_value_heads}, or transformers 5.17's {@code per_layer_config} that it saves instead);</li>
 *   <li>{@code attention_k_eq_v}: a full layer has no {@code v_proj}, its values are its keys' projection (before the
 *       key norm and rotary);</li>
 *   <li>per-layer inputs (PLE): {@code embed_tokens_per_layer} and {@code per_layer_model_projection} give each layer
 *       a vector of {@code hidden_size_per_layer_input} that gates a residual branch after its MLP;</li>
 *   <li>{@code num_kv_shared_layers}: the last layers project no keys and values but attend over those of the last
 *       earlier layer of their type; with {@code use_double_wide_mlp} their MLPs are twice as wide.</li>
 * </ul>
 *
 * @param globalHeadDim the full layers' head size
 * @param globalKeyValueHeads the full layers' key/value heads
 * @param keysAsValues whether the full layers take their values from the key projection ({@code attention_k_eq_v})
 * @param perLayerInputSize the per-layer inputs' width ({@code hidden_size_per_layer_input}), 0 for none
 * @param perLayerVocabSize the rows of {@code embed_tokens_per_layer} ({@code vocab_size_per_layer_input})
 * @param kvSharedLayers how many of the last layers reuse earlier keys and values ({@code num_kv_shared_layers})
 * @param doubleWideMlp whether those layers' MLPs are twice {@code intermediate_size} ({@code use_double_wide_mlp})
 */
public record Gemma4Config(int globalHeadDim, int globalKeyValueHeads, boolean keysAsValues, int perLayerInputSize,
                           int perLayerVocabSize, int kvSharedLayers, boolean doubleWideMlp) {

    /** The {@code model_type} of Gemma 4's language model. */
    public static final String MODEL_TYPE = "gemma4_text";

    private static final String AT = "config.json";

    /**
     * Reads Gemma 4's fields, refusing what finetune4j does not run.
     *
     * @param c the config.json with Gemma4TextConfig's defaults filled in
     * @param layers the number of layers
     * @param heads the query heads
     * @param keyValueHeads the sliding layers' key/value heads
     * @param sliding per layer, whether it is a sliding-window layer
     * @return the settings
     * @throws IllegalArgumentException naming the field, its value and what to do
     */
    static Gemma4Config fromJson(JsonNode c, int layers, int heads, int keyValueHeads, boolean[] sliding) {
        refuseUnsupported(c);
        boolean keysAsValues = JsonFields.bool(c, "attention_k_eq_v", false, AT);
        int globalHeadDim = JsonFields.integer(c, "global_head_dim", 512, 2, ConfigLimits.HIDDEN, AT);
        // NOTE: Gemma4TextConfig applies num_global_key_value_heads only where attention_k_eq_v is set
        int globalKv = keysAsValues ? JsonFields.integer(c, "num_global_key_value_heads", keyValueHeads, 1,
                ConfigLimits.HEADS, AT) : keyValueHeads;
        if (c.hasNonNull("per_layer_config")) {
            int[] overrides = perLayerConfig(c.get("per_layer_config"), layers, sliding, globalHeadDim, globalKv);
            globalHeadDim = overrides[0];
            globalKv = overrides[1];
        }
        if (globalHeadDim % 2 != 0 || heads % globalKv != 0) {
            throw new IllegalArgumentException(AT + ": the full-attention layers' heads (head_dim " + globalHeadDim
                    + ", " + globalKv + " key/value heads) must be of even size and divide num_attention_heads " + heads);
        }
        int perLayer = JsonFields.integer(c, "hidden_size_per_layer_input", 256, 0, ConfigLimits.HIDDEN, AT);
        int perLayerVocab = JsonFields.integer(c, "vocab_size_per_layer_input", 262_144, 1, ConfigLimits.VOCAB, AT);
        int shared = JsonFields.integer(c, "num_kv_shared_layers", 0, 0, layers, AT);
        Gemma4Config g = new Gemma4Config(globalHeadDim, globalKv, keysAsValues, perLayer, perLayerVocab, shared,
                JsonFields.bool(c, "use_double_wide_mlp", false, AT));
        for (int i = layers - shared; i < layers; i++) {
            if (g.kvSource(i, sliding) < 0) {
                throw new IllegalArgumentException(AT + ": num_kv_shared_layers = " + shared + " makes layer " + i
                        + " reuse the keys and values of an earlier " + (sliding[i] ? "sliding" : "full")
                        + "-attention layer, but none comes before layer " + (layers - shared)
                        + ": lower num_kv_shared_layers");
            }
        }
        return g;
    }

    /**
     * transformers 5.17's saved form of the per-layer overrides: each full layer's {@code head_dim} and
     * {@code num_key_value_heads}, the same for all of them (as Gemma4TextConfig makes them); no override on a
     * sliding layer.
     *
     * @return the full layers' head size and key/value heads
     */
    private static int[] perLayerConfig(JsonNode overrides, int layers, boolean[] sliding, int headDim, int kv) {
        String at = AT + " per_layer_config";
        if (!overrides.isObject()) {
            throw new IllegalArgumentException(at + " must be an object of layer index -> overrides, got " + overrides);
        }
        int[] full = null;
        for (Iterator<Map.Entry<String, JsonNode>> it = overrides.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int layer = layerIndex(e.getKey(), layers, at);
            JsonNode o = e.getValue();
            for (Iterator<String> names = o.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!name.equals("head_dim") && !name.equals("num_key_value_heads")) {
                    throw new IllegalArgumentException(at + "." + layer + "." + name + " is not supported: finetune4j "
                            + "reads a layer's head_dim and num_key_value_heads there, as Gemma4TextConfig writes them");
                }
            }
            if (sliding[layer]) {
                throw new IllegalArgumentException(at + "." + layer + " overrides a sliding-attention layer, which "
                        + "finetune4j does not support: Gemma 4's overrides apply to its full-attention layers");
            }
            int[] these = {JsonFields.integer(o, "head_dim", headDim, 2, ConfigLimits.HIDDEN, at + "." + layer),
                    JsonFields.integer(o, "num_key_value_heads", kv, 1, ConfigLimits.HEADS, at + "." + layer)};
            if (full != null && (full[0] != these[0] || full[1] != these[1])) {
                throw new IllegalArgumentException(at + "." + layer + " = " + o + " differs from another full layer's "
                        + "overrides: finetune4j supports one shape for all of Gemma 4's full-attention layers");
            }
            full = these;
        }
        for (int i = 0; i < layers; i++) {
            if (!sliding[i] && full != null && !overrides.has(Integer.toString(i))) {
                // a full layer without an override takes the sliding layers' shape, which Gemma 4 never writes
                throw new IllegalArgumentException(at + " has no entry for full-attention layer " + i + ": give every "
                        + "full-attention layer the same head_dim and num_key_value_heads");
            }
        }
        return full != null ? full : new int[]{headDim, kv};
    }

    private static int layerIndex(String key, int layers, String at) {
        try {
            int layer = Integer.parseInt(key);
            if (layer >= 0 && layer < layers) {
                return layer;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(at + ": key '" + key + "' is not a layer index in [0, " + layers + ")");
    }

    /** What finetune4j refuses of Gemma 4's config, with what to do instead. */
    private static void refuseUnsupported(JsonNode c) {
        // "vision" lets image tokens attend both ways; text, all finetune4j runs, stays causal under it
        JsonNode bidirectional = c.path("use_bidirectional_attention");
        if (!bidirectional.isMissingNode() && !bidirectional.isNull() && !"vision".equals(bidirectional.asText())) {
            throw new IllegalArgumentException(AT + ": use_bidirectional_attention = " + bidirectional + " is not "
                    + "supported: finetune4j runs Gemma 4 as a causal language model; set it to null (or \"vision\", "
                    + "which leaves text causal)");
        }
    }

    /**
     * The layer whose keys and values layer {@code layer} attends over: itself, or for one of the last
     * {@link #kvSharedLayers} the last layer of its type before them (transformers' {@code store_full_length_kv}).
     *
     * @param layer the layer's index
     * @param sliding per layer, whether it is a sliding-window layer
     * @return the layer's index, or -1 for a shared layer with no earlier layer of its type
     */
    public int kvSource(int layer, boolean[] sliding) {
        int firstShared = sliding.length - kvSharedLayers;
        if (layer < firstShared) {
            return layer;
        }
        for (int i = firstShared - 1; i >= 0; i--) {
            if (sliding[i] == sliding[layer]) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Whether layer {@code layer} is one of the last {@link #kvSharedLayers}, which project no keys and values.
     *
     * @param layer the layer's index
     * @param layers the number of layers
     * @return true for a kv-shared layer
     */
    public boolean sharesKeyValues(int layer, int layers) {
        return layer >= layers - kvSharedLayers;
    }
}
