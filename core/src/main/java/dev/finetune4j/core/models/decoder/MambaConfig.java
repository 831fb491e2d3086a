package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

import java.util.Arrays;

/**
 * The Mamba-2 token mixers of Granite 4.0 H ({@code granitemoehybrid}: in place of self-attention in some layers), of
 * Falcon-H1 ({@code falcon_h1}: beside self-attention in every layer) and of Nemotron-H ({@code nemotron_h}: a block
 * of its own in some layers), and their sizes and switches as {@code GraniteMoeHybridConfig}, {@code FalconH1Config}
 * and {@code NemotronHConfig} read them.
 *
 * @param layers per layer, whether it has a Mamba-2 mixer ({@code mamba})
 * @param numHeads heads, each with its own (headDim, stateSize) state ({@code mamba_n_heads})
 * @param headDim size of a head ({@code mamba_d_head}; the inner width / {@code mamba_n_heads} by default)
 * @param stateSize the state's size per head channel ({@code mamba_d_state})
 * @param numGroups groups of heads that share their B and C projections ({@code mamba_n_groups}), dividing the heads
 * @param convKernel the causal convolution's width over time ({@code mamba_d_conv})
 * @param convBias whether the convolution has biases ({@code mamba_conv_bias})
 * @param projBias whether {@code in_proj} has a bias ({@code mamba_proj_bias})
 * @param outProjBias whether {@code out_proj} has a bias (Granite's {@code mamba_proj_bias}, Falcon-H1's
 *                    {@code projectors_bias})
 * @param gatedNorm how the output meets the gate z and the {@code norm} before {@code out_proj}
 * @param inputMultiplier the factor on the mixer's input (Falcon-H1's {@code ssm_in_multiplier}; 1 for Granite)
 * @param projectionMultipliers the factors on {@code in_proj}'s five parts z, x, B, C and dt (Falcon-H1's
 *                              {@code ssm_multipliers}, its muP vector; all 1 for Granite)
 * @param timeStepFloor the least time step, {@code dt = max(softplus(dt + dt_bias), timeStepFloor)}: Nemotron-H's
 *                      {@code time_step_min}, which transformers' mixer clamps to; 0 (no clamp) for Granite and
 *                      Falcon-H1
 */
public record MambaConfig(boolean[] layers, int numHeads, int headDim, int stateSize, int numGroups, int convKernel,
                          boolean convBias, boolean projBias, boolean outProjBias, GatedNorm gatedNorm,
                          float inputMultiplier, float[] projectionMultipliers, float timeStepFloor) {

    /** How the scan's output y meets the gate z before {@code out_proj}. */
    public enum GatedNorm {
        /**
         * {@code norm(y * silu(z))} over the whole inner width (Granite 4.0 H's, transformers' whatever
         * {@code mamba_n_groups} is).
         */
        GATE_THEN_NORM,
        /** {@code norm(y * silu(z))}, each of the {@code mamba_n_groups} groups on its own (Falcon-H1's, as published). */
        GATE_THEN_GROUP_NORM,
        /** {@code norm(y) * silu(z)}, each group on its own (Falcon-H1's {@code mamba_norm_before_gate}). */
        GROUP_NORM_THEN_GATE,
        /** {@code y * silu(z)}, no norm (Falcon-H1 without {@code mamba_rms_norm}). */
        NONE;

        /**
         * The groups the norm normalises separately.
         *
         * @param numGroups {@code mamba_n_groups}
         * @return 1 for the whole width, else {@code numGroups}
         */
        int normGroups(int numGroups) {
            return this == GATE_THEN_NORM ? 1 : numGroups;
        }
    }

    /** The {@code in_proj} parts {@link #projectionMultipliers} scale, in order. */
    private static final String[] PROJECTION_PARTS = {"z", "x", "B", "C", "dt"};

    /** Checks the multipliers: one per part of {@code in_proj}, each a positive finite number. */
    public MambaConfig {
        if (!(inputMultiplier > 0 && Float.isFinite(inputMultiplier))) {
            throw new IllegalArgumentException("config.json: ssm_in_multiplier = " + inputMultiplier
                    + " must be a positive finite number");
        }
        if (projectionMultipliers.length != PROJECTION_PARTS.length) {
            throw new IllegalArgumentException("config.json: ssm_multipliers has " + projectionMultipliers.length
                    + " entries; it needs one per part of in_proj (z, x, B, C, dt): 5");
        }
        for (int i = 0; i < projectionMultipliers.length; i++) {
            if (!(projectionMultipliers[i] > 0 && Float.isFinite(projectionMultipliers[i]))) {
                throw new IllegalArgumentException("config.json: ssm_multipliers[" + i + "] (" + PROJECTION_PARTS[i]
                        + ") = " + projectionMultipliers[i] + " must be a positive finite number");
            }
        }
        if (!(timeStepFloor >= 0 && Float.isFinite(timeStepFloor))) {
            throw new IllegalArgumentException("config.json: time_step_min = " + timeStepFloor
                    + " must be a finite number >= 0");
        }
        projectionMultipliers = projectionMultipliers.clone();
    }

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
     * Whether some part of {@code in_proj}'s output is scaled ({@link #projectionMultipliers} not all 1).
     *
     * @return true for a Falcon-H1 model with its muP multipliers
     */
    boolean scalesProjection() {
        for (float m : projectionMultipliers) {
            if (m != 1f) {
                return true;
            }
        }
        return false;
    }

    /**
     * One factor per output of {@code in_proj}: {@link #projectionMultipliers} spread over z (innerDim), x
     * (innerDim), B and C (numGroups stateSize each) and dt (numHeads), as transformers' {@code compute_mup_vector}.
     *
     * @return the factors, {@link #projectionDim} of them
     */
    public float[] projectionFactors() {
        int groupWidth = numGroups * stateSize;
        int[] widths = {innerDim(), innerDim(), groupWidth, groupWidth, numHeads};
        float[] factors = new float[projectionDim()];
        int at = 0;
        for (int part = 0; part < widths.length; part++) {
            Arrays.fill(factors, at, at + widths[part], projectionMultipliers[part]);
            at += widths[part];
        }
        return factors;
    }

    /**
     * Reads the Mamba-2 settings of a {@code granitemoehybrid} config whose {@code layer_types} name at least one
     * {@code mamba} (or {@code linear_attention}) layer, or of a {@code falcon_h1} config (every layer).
     *
     * @param c the parsed config.json
     * @param layers per layer, whether it has a Mamba-2 mixer
     * @param hidden {@code hidden_size}
     * @param falconH1 whether the config is Falcon-H1's (its inner width, norm switches, biases and multipliers)
     * @return the settings
     * @throws IllegalArgumentException for sizes that do not fit together, or a time-step limit other than the default
     */
    static MambaConfig fromJson(JsonNode c, boolean[] layers, int hidden, boolean falconH1) {
        String at = "config.json";
        int heads = JsonFields.integer(c, "mamba_n_heads", 128, 1, ConfigLimits.HEADS, at);
        int expand = JsonFields.integer(c, "mamba_expand", 2, 1, 64, at);
        // Falcon-H1's mamba_d_ssm sets the inner width; null (and Granite) means mamba_expand x hidden_size
        long inner = falconH1 && c.hasNonNull("mamba_d_ssm")
                ? JsonFields.integer(c, "mamba_d_ssm", 1024, 1, ConfigLimits.INTERMEDIATE, at) : (long) expand * hidden;
        String innerName = falconH1 && c.hasNonNull("mamba_d_ssm") ? "mamba_d_ssm" : "mamba_expand x hidden_size";
        if (inner % heads != 0) {
            throw new IllegalArgumentException(at + ": mamba_n_heads " + heads + " must divide " + innerName + " = "
                    + inner + ", the width the Mamba-2 heads share");
        }
        int headDim = c.path("mamba_d_head").isTextual() && c.get("mamba_d_head").asText().equals("auto")
                ? (int) (inner / heads)
                : JsonFields.integer(c, "mamba_d_head", (int) (inner / heads), 1, ConfigLimits.HIDDEN, at);
        if ((long) heads * headDim != inner) {
            throw new IllegalArgumentException(at + ": mamba_n_heads " + heads + " x mamba_d_head " + headDim + " must be "
                    + innerName + " = " + inner + ", the width of the Mamba-2 layers' heads");
        }
        int groups = JsonFields.integer(c, "mamba_n_groups", 1, 1, ConfigLimits.HEADS, at);
        if (heads % groups != 0) {
            throw new IllegalArgumentException(at + ": mamba_n_groups " + groups + " must divide mamba_n_heads " + heads
                    + ": each group's B and C serve a whole number of heads");
        }
        requireDefaultTimeStepLimit(c.path("time_step_limit"));
        boolean projBias = JsonFields.bool(c, "mamba_proj_bias", false, at);
        return new MambaConfig(layers, heads, headDim,
                JsonFields.integer(c, "mamba_d_state", 256, 1, ConfigLimits.HIDDEN, at),
                groups,
                JsonFields.integer(c, "mamba_d_conv", 4, 1, 64, at),
                JsonFields.bool(c, "mamba_conv_bias", true, at),
                projBias,
                falconH1 ? JsonFields.bool(c, "projectors_bias", false, at) : projBias,
                falconH1 ? falconGatedNorm(c) : GatedNorm.GATE_THEN_NORM,
                falconH1 ? (float) JsonFields.number(c, "ssm_in_multiplier", 1.0, at) : 1f,
                falconH1 ? ParallelHybridConfig.floats(c, "ssm_multipliers", 5) : NO_MULTIPLIERS, 0f);
    }

    /** Factors of 1 on every part of {@code in_proj}. */
    private static final float[] NO_MULTIPLIERS = {1f, 1f, 1f, 1f, 1f};

    /**
     * Reads the Mamba-2 settings of a {@code nemotron_h} config (its older {@code mamba_*} keys renamed by
     * {@link FamilyDefaults}): {@code mamba_num_heads} heads of {@code mamba_head_dim}, whatever {@code expand} says,
     * {@code n_groups} groups, each normalised on its own after the gate, {@code use_bias} on both projections, and
     * the time steps clamped below at {@code time_step_min}.
     *
     * @param c the parsed config.json, with Nemotron-H's defaults filled in
     * @param layers per layer, whether it is a Mamba-2 block
     * @return the settings
     * @throws IllegalArgumentException for groups that do not divide the heads, or an activation other than SiLU
     */
    static MambaConfig nemotronH(JsonNode c, boolean[] layers) {
        String at = "config.json";
        int heads = JsonFields.requiredInteger(c, "mamba_num_heads", 1, ConfigLimits.HEADS, at);
        int groups = JsonFields.requiredInteger(c, "n_groups", 1, ConfigLimits.HEADS, at);
        if (heads % groups != 0) {
            throw new IllegalArgumentException(at + ": n_groups " + groups + " must divide mamba_num_heads " + heads
                    + ": each group's B and C serve a whole number of heads");
        }
        String act = c.path("mamba_hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new IllegalArgumentException(at + ": mamba_hidden_act = \"" + act + "\" is not supported: "
                    + "finetune4j's Mamba-2 convolution applies SiLU, as every Nemotron-H checkpoint does");
        }
        boolean bias = JsonFields.bool(c, "use_bias", false, at);
        return new MambaConfig(layers, heads,
                JsonFields.requiredInteger(c, "mamba_head_dim", 1, ConfigLimits.HIDDEN, at),
                JsonFields.requiredInteger(c, "ssm_state_size", 1, ConfigLimits.HIDDEN, at),
                groups,
                JsonFields.requiredInteger(c, "conv_kernel", 1, 64, at),
                JsonFields.bool(c, "use_conv_bias", true, at),
                bias, bias, GatedNorm.GATE_THEN_GROUP_NORM, 1f, NO_MULTIPLIERS,
                (float) JsonFields.number(c, "time_step_min", 0.001, v -> v >= 0 && v < 1e3, "in [0, 1000)", at));
    }

    /** Falcon-H1's {@code mamba_rms_norm} (default false) and {@code mamba_norm_before_gate} (default true). */
    private static GatedNorm falconGatedNorm(JsonNode c) {
        String at = "config.json";
        if (!JsonFields.bool(c, "mamba_rms_norm", false, at)) {
            return GatedNorm.NONE;
        }
        return JsonFields.bool(c, "mamba_norm_before_gate", true, at) ? GatedNorm.GROUP_NORM_THEN_GATE
                : GatedNorm.GATE_THEN_GROUP_NORM;
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
                    + "Granite 4.0 H and Falcon-H1 checkpoints use");
        }
    }

    private static boolean isInfinity(JsonNode n) {
        return n.isTextual() && (n.asText().equals("Infinity") || n.asText().equals("inf"));
    }
}
