package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

import java.util.List;
import java.util.Set;

/**
 * The gated DeltaNet layers of Qwen3.5 ({@code qwen3_5_text}) and Qwen3-Next ({@code qwen3_next}): which layers mix
 * tokens by linear attention instead of self-attention, and their sizes, as {@code Qwen3_5TextConfig} reads them.
 *
 * @param layers per layer, whether it is a linear-attention ({@code linear_attn}) layer
 * @param convKernel the causal convolution's width over time ({@code linear_conv_kernel_dim})
 * @param numKeyHeads query and key heads ({@code linear_num_key_heads}), dividing the value heads
 * @param numValueHeads value heads, each with its own state ({@code linear_num_value_heads})
 * @param keyHeadDim size of a query or key head ({@code linear_key_head_dim})
 * @param valueHeadDim size of a value head ({@code linear_value_head_dim})
 * @param fusedProjections whether the input projections are Qwen3-Next's two ({@code in_proj_qkvz}, {@code in_proj_ba},
 *                         rows grouped per key head) rather than Qwen3.5's four
 */
public record LinearAttentionConfig(boolean[] layers, int convKernel, int numKeyHeads, int numValueHeads,
                                    int keyHeadDim, int valueHeadDim, boolean fusedProjections) {
    private static final String LINEAR = "linear_attention";
    /** The {@code model_type}s whose layers include gated DeltaNet layers: Qwen3.5's and Qwen3.5-MoE's language models. */
    private static final Set<String> MODEL_TYPES = Set.of(DecoderConfig.QWEN35_TEXT, DecoderConfig.QWEN35_MOE_TEXT,
            DecoderConfig.QWEN3_NEXT);
    private static final String FULL = "full_attention";

    /**
     * Whether a {@code model_type}'s layers include gated DeltaNet layers.
     *
     * @param modelType a config.json's {@code model_type}
     * @return true for Qwen3.5's and Qwen3.5-MoE's language models and Qwen3-Next
     */
    static boolean appliesTo(String modelType) {
        return MODEL_TYPES.contains(modelType);
    }

    /**
     * The query and key width, {@code numKeyHeads * keyHeadDim}.
     *
     * @return the width of the queries, and of the keys
     */
    public int keyDim() {
        return numKeyHeads * keyHeadDim;
    }

    /**
     * The value width, {@code numValueHeads * valueHeadDim}.
     *
     * @return the width of the values
     */
    public int valueDim() {
        return numValueHeads * valueHeadDim;
    }

    /**
     * The channels the convolution runs over: queries, keys and values side by side.
     *
     * @return {@code 2 keyDim + valueDim}
     */
    public int convDim() {
        return 2 * keyDim() + valueDim();
    }

    /**
     * Parameters of one linear-attention layer's matrices: its four input projections and its output projection.
     *
     * @param hidden the model's hidden size
     * @return the count
     */
    long parameterCount(long hidden) {
        return hidden * ((long) convDim() + valueDim() + 2L * numValueHeads) + (long) valueDim() * hidden;
    }

    /**
     * Reads the linear-attention settings and the layer pattern: {@code layer_types} (transformers' older names
     * {@code mamba} and {@code attention} included), else every {@code full_attention_interval}-th layer (4 by
     * default) attends and the others are linear.
     *
     * @param c the parsed config.json
     * @param layerCount {@code num_hidden_layers}
     * @return the settings
     */
    static LinearAttentionConfig fromJson(JsonNode c, int layerCount) {
        String at = "config.json";
        boolean[] layers = new boolean[layerCount];
        String[] types = LayerTypes.read(c, "layer_types", layerCount, List.of(LINEAR, FULL, "mamba", "attention"));
        if (types != null) {
            for (int i = 0; i < layerCount; i++) {
                layers[i] = types[i].equals(LINEAR) || types[i].equals("mamba");
            }
        } else {
            int interval = JsonFields.integer(c, "full_attention_interval", 4, 1, ConfigLimits.LAYERS, at);
            for (int i = 0; i < layerCount; i++) {
                layers[i] = (i + 1) % interval != 0;
            }
        }
        int keyHeads = JsonFields.integer(c, "linear_num_key_heads", 16, 1, ConfigLimits.HEADS, at);
        int valueHeads = JsonFields.integer(c, "linear_num_value_heads", 32, 1, ConfigLimits.HEADS, at);
        if (valueHeads % keyHeads != 0) {
            throw new IllegalArgumentException(at + ": linear_num_value_heads " + valueHeads + " is not a multiple of "
                    + "linear_num_key_heads " + keyHeads + ": each key head serves a whole group of value heads");
        }
        return new LinearAttentionConfig(layers,
                JsonFields.integer(c, "linear_conv_kernel_dim", 4, 1, 64, at),
                keyHeads, valueHeads,
                JsonFields.integer(c, "linear_key_head_dim", 128, 1, ConfigLimits.HIDDEN, at),
                JsonFields.integer(c, "linear_value_head_dim", 128, 1, ConfigLimits.HIDDEN, at),
                c.path("model_type").asText().equals(DecoderConfig.QWEN3_NEXT));
    }
}
