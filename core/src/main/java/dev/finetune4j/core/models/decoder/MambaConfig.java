package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

/**
 * The Mamba-2 layers of Granite 4.0 H ({@code granitemoehybrid}): which layers mix tokens by a selective state space
 * instead of self-attention, and their sizes, as {@code GraniteMoeHybridConfig} reads them.
 *
 * @param layers per layer, whether it is a Mamba-2 ({@code mamba}) layer
 * @param numHeads heads, each with its own (headDim, stateSize) state ({@code mamba_n_heads})
 * @param headDim size of a head ({@code mamba_d_head}; {@code mamba_expand * hidden_size / mamba_n_heads} by default)
 * @param stateSize the state's size per head channel ({@code mamba_d_state})
 * @param numGroups groups of heads that share their B and C projections ({@code mamba_n_groups}), dividing the heads
 * @param convKernel the causal convolution's width over time ({@code mamba_d_conv})
 * @param convBias whether the convolution has biases ({@code mamba_conv_bias})
 * @param projBias whether {@code in_proj} and {@code out_proj} have biases ({@code mamba_proj_bias})
 */
public record MambaConfig(boolean[] layers, int numHeads, int headDim, int stateSize, int numGroups, int convKernel,
                          boolean convBias, boolean projBias) {

    /**
     * The width of the heads side by side: {@code numHeads * headDim}, the gate's and the inner output's width.
     *
     * @return {@code mamba_expand * hidden_size}
     */
    public int innerDim() {
        return numHeads * headDim;
    }

    /**
     * The channels the convolution runs over: the inputs x, then B and C of every group.
     *
     * @return {@code innerDim + 2 numGroups stateSize}
     */
    public int convDim() {
        return innerDim() + 2 * numGroups * stateSize;
    }

    /**
     * The width of {@code in_proj}'s output: the gate z, the convolution's channels and one time step per head.
     *
     * @return {@code innerDim + convDim + numHeads}
     */
    public int projectionDim() {
        return innerDim() + convDim() + numHeads;
    }

    /**
     * Parameters of one Mamba-2 layer's matrices: {@code in_proj} and {@code out_proj}.
     *
     * @param hidden the model's hidden size
     * @return the count
     */
    long parameterCount(long hidden) {
        return hidden * projectionDim() + (long) innerDim() * hidden;
    }

    /**
     * Reads the Mamba-2 settings of a {@code granitemoehybrid} config whose {@code layer_types} name at least one
     * {@code mamba} (or {@code linear_attention}) layer.
     *
     * @param c the parsed config.json
     * @param layers per layer, whether it is a Mamba-2 layer
     * @param hidden {@code hidden_size}
     * @return the settings
     * @throws IllegalArgumentException for sizes that do not fit together, or a time-step limit other than the default
     */
    static MambaConfig fromJson(JsonNode c, boolean[] layers, int hidden) {
        String at = "config.json";
        int heads = JsonFields.integer(c, "mamba_n_heads", 128, 1, ConfigLimits.HEADS, at);
        int expand = JsonFields.integer(c, "mamba_expand", 2, 1, 64, at);
        long inner = (long) expand * hidden;
        int headDim = c.path("mamba_d_head").isTextual() && c.get("mamba_d_head").asText().equals("auto")
                ? (int) (inner / heads)
                : JsonFields.integer(c, "mamba_d_head", (int) (inner / heads), 1, ConfigLimits.HIDDEN, at);
        if ((long) heads * headDim != inner) {
            throw new IllegalArgumentException(at + ": mamba_n_heads " + heads + " x mamba_d_head " + headDim + " must be "
                    + "mamba_expand x hidden_size = " + inner + ", the width of the Mamba-2 layers' heads");
        }
        int groups = JsonFields.integer(c, "mamba_n_groups", 1, 1, ConfigLimits.HEADS, at);
        if (heads % groups != 0) {
            throw new IllegalArgumentException(at + ": mamba_n_groups " + groups + " must divide mamba_n_heads " + heads
                    + ": each group's B and C serve a whole number of heads");
        }
        requireDefaultTimeStepLimit(c.path("time_step_limit"));
        return new MambaConfig(layers, heads, headDim,
                JsonFields.integer(c, "mamba_d_state", 256, 1, ConfigLimits.HIDDEN, at),
                groups,
                JsonFields.integer(c, "mamba_d_conv", 4, 1, 64, at),
                JsonFields.bool(c, "mamba_conv_bias", true, at),
                JsonFields.bool(c, "mamba_proj_bias", false, at));
    }

    /**
     * Accepts {@code time_step_limit} only as transformers' default, (0, inf), which never clamps a softplus: the
     * published Granite 4.0 H configs keep it (saved as {@code [0.0, {"__float__": "Infinity"}]}).
     */
    private static void requireDefaultTimeStepLimit(JsonNode limit) {
        if (limit.isMissingNode() || limit.isNull()) {
            return;
        }
        boolean lowIsZero = limit.isArray() && limit.size() == 2 && limit.get(0).isNumber() && limit.get(0).asDouble() == 0;
        JsonNode high = limit.isArray() && limit.size() == 2 ? limit.get(1) : null;
        boolean highIsInfinite = high != null && (high.isNumber() && Double.isInfinite(high.asDouble())
                || isInfinity(high.isObject() ? high.path("__float__") : high));
        if (!lowIsZero || !highIsInfinite) {
            throw new IllegalArgumentException("config.json: time_step_limit = " + limit + " would clamp the Mamba-2 "
                    + "time steps, which finetune4j does not implement; it loads the default [0.0, Infinity] that the "
                    + "Granite 4.0 H checkpoints use");
        }
    }

    private static boolean isInfinity(JsonNode n) {
        return n.isTextual() && (n.asText().equals("Infinity") || n.asText().equals("inf"));
    }
}
