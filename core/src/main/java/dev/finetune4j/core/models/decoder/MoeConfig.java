package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import org.slf4j.LoggerFactory;

import java.util.Set;

/**
 * The mixture-of-experts switches of a Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE, gpt-oss, Qwen3.5-MoE, Granite 3 MoE,
 * Granite 4.0 H or LFM2-MoE config.json: which layers route each token to {@code numExpertsPerTok} of {@code numExperts} gated MLPs, and how.
 *
 * @param naming the checkpoint's module names for the block and its experts
 * @param numExperts experts per sparse layer ({@code num_local_experts}, or {@code num_experts}: either key in every
 *                   family)
 * @param numExpertsPerTok experts each token is sent to, k ({@code num_experts_per_tok})
 * @param expertIntermediateSize each expert's MLP width (Mixtral's, OLMoE's, gpt-oss's and Granite's
 *                               {@code intermediate_size}, else
 *                               {@code moe_intermediate_size})
 * @param normTopkProb whether a token's k routing weights are renormalised to sum to 1 (always for Mixtral and
 *                     gpt-oss, whose softmax over the k chosen logits is the same, {@code norm_topk_prob} for the
 *                     Qwen families and OLMoE)
 * @param sharedExpertIntermediateSize Qwen2-MoE's shared expert's width ({@code shared_expert_intermediate_size}),
 *                                     0 for none
 * @param sparseLayers per layer, whether its MLP is the mixture (else a dense MLP of {@code intermediate_size}):
 *                     Qwen's {@code decoder_sparse_step} and {@code mlp_only_layers}
 * @param outputRouterLogits whether training adds the router's load-balancing loss ({@code output_router_logits})
 * @param routerAuxLossCoef that loss's weight ({@code router_aux_loss_coef})
 * @param swigluAlpha gpt-oss's experts' sigmoid gain ({@code swiglu_alpha}, 1.702); unused by the others
 * @param swigluLimit gpt-oss's experts' clamp ({@code swiglu_limit}, 7); unused by the others
 * @param sigmoidRouting LFM2-MoE's router, which scores each expert by the sigmoid of its logit; null for the
 *                       softmax routers of the others
 */
public record MoeConfig(Naming naming, int numExperts, int numExpertsPerTok, int expertIntermediateSize,
                        boolean normTopkProb, int sharedExpertIntermediateSize, boolean[] sparseLayers,
                        boolean outputRouterLogits, float routerAuxLossCoef, float swigluAlpha, float swigluLimit,
                        SigmoidRouting sigmoidRouting) {

    /**
     * A router that scores each expert by the sigmoid of its logit (LFM2-MoE's; DeepSeek-V3's kind): a token's k
     * experts are those of the highest score plus {@code expert_bias} where there is one (a buffer that balances the
     * experts' loads, not a weight), and weigh by their scores alone, renormalised where {@code norm_topk_prob} says
     * (their sum plus {@code normEpsilon}) and times {@code routed_scaling_factor}.
     *
     * @param expertBias whether the block holds an {@code expert_bias} (E) for the selection ({@code use_expert_bias})
     * @param scalingFactor the weights' factor ({@code routed_scaling_factor})
     * @param normEpsilon added to the chosen scores' sum when they are renormalised
     */
    public record SigmoidRouting(boolean expertBias, float scalingFactor, float normEpsilon) {
    }

    /**
     * The {@code model_type} values with a mixture of experts ({@code granitemoehybrid}'s has one where
     * {@code num_local_experts} is above 0).
     */
    public static final Set<String> MODEL_TYPES = Set.of("mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "gpt_oss",
            DecoderConfig.QWEN35_MOE_TEXT, "granitemoe", "granitemoeshared", GraniteHybridLayers.MODEL_TYPE,
            ShortConvConfig.MOE_MODEL_TYPE);

    /** How a checkpoint names the sparse block, its router and its experts' projections. */
    public enum Naming {
        /** Mixtral: {@code block_sparse_moe.gate}, {@code block_sparse_moe.experts.N.w1} (gate), {@code w3}, {@code w2}. */
        MIXTRAL("block_sparse_moe", "gate", false, MlpNames.MIXTRAL),
        /** Qwen2-MoE, Qwen3-MoE: {@code mlp.gate}, {@code mlp.experts.N.gate_proj}, {@code up_proj}, {@code down_proj}. */
        QWEN("mlp", "gate", false, MlpNames.STANDARD),
        /**
         * gpt-oss: {@code mlp.router} (with a bias) and the experts stacked into {@code mlp.experts.gate_up_proj},
         * {@code gate_up_proj_bias}, {@code down_proj}, {@code down_proj_bias} ({@link GptOssExperts}).
         */
        GPT_OSS("mlp", "router", true, null),
        /**
         * Granite 3's mixtures and Granite 4.0 H: {@code block_sparse_moe.router.layer} ({@link NestedRouter}) and the
         * experts stacked into {@code block_sparse_moe.input_linear} (gate and up halves) and {@code output_linear}
         * ({@link StackedLinear}s); where there is one, the layer's {@code shared_mlp} beside the block.
         */
        GRANITE("block_sparse_moe", "router", false, null),
        /** LFM2-MoE: {@code feed_forward.gate}, {@code feed_forward.experts.N.w1} (gate), {@code w3}, {@code w2}. */
        LFM2("feed_forward", "gate", false, MlpNames.MIXTRAL);

        private final String block;
        private final String router;
        private final boolean routerBias;
        private final MlpNames expert;

        Naming(String block, String router, boolean routerBias, MlpNames expert) {
            this.block = block;
            this.router = router;
            this.routerBias = routerBias;
            this.expert = expert;
        }

        /**
         * Whether the router adds a bias to its scores.
         *
         * @return true for gpt-oss
         */
        public boolean routerBias() {
            return routerBias;
        }

        /**
         * The router's name in the block.
         *
         * @return {@code gate}, or gpt-oss's and Granite's {@code router}
         */
        public String router() {
            return router;
        }

        /**
         * Whether the experts are stacked into 3-D parameters rather than one module each.
         *
         * @return true for gpt-oss and Granite
         */
        public boolean stacked() {
            return expert == null;
        }

        /**
         * The sparse block's name in its layer.
         *
         * @return {@code block_sparse_moe}, {@code mlp} or LFM2-MoE's {@code feed_forward}
         */
        public String block() {
            return block;
        }

        /**
         * The names of an expert's projections.
         *
         * @return Mixtral's w1, w3, w2, or gate_proj, up_proj, down_proj; null for stacked experts
         */
        public MlpNames expert() {
            return expert;
        }
    }

    /** Checks the sizes against each other, naming the config.json field that is wrong. */
    public MoeConfig {
        long total = 0;
        for (boolean sparse : sparseLayers) {
            total += sparse ? numExperts : 0;
        }
        if (total > ConfigLimits.TOTAL_EXPERTS) {
            throw new IllegalArgumentException("config.json: " + numExperts + " experts in each of the sparse layers make "
                    + total + " experts, above the " + ConfigLimits.TOTAL_EXPERTS + " this library accepts (the largest "
                    + "released mixtures have about 15,000): check num_experts and num_hidden_layers");
        }
        if (numExpertsPerTok > numExperts) {
            throw new IllegalArgumentException("config.json: num_experts_per_tok = " + numExpertsPerTok
                    + " exceeds the " + numExperts + " experts: a token cannot be routed to more experts than exist");
        }
    }

    /**
     * Whether layer {@code layer}'s MLP is the mixture.
     *
     * @param layer the layer's index
     * @return true for a sparse layer
     */
    public boolean isSparse(int layer) {
        return sparseLayers[layer];
    }

    /**
     * Reads the mixture's fields of a config.json, with transformers' defaults for the ones left out.
     *
     * @param c the parsed config.json
     * @param type its {@code model_type}, one of {@link #MODEL_TYPES}
     * @param layers {@code num_hidden_layers}
     * @return the configuration
     */
    static MoeConfig fromJson(JsonNode c, String type, int layers) {
        String at = "config.json";
        boolean mixtral = type.equals("mixtral");
        boolean gptOss = type.equals("gpt_oss");
        boolean olmoe = type.equals("olmoe");
        boolean qwen35 = type.equals(DecoderConfig.QWEN35_MOE_TEXT);
        boolean granite = type.startsWith("granite");
        boolean lfm2 = type.equals(ShortConvConfig.MOE_MODEL_TYPE);
        // Mixtral, OLMoE, gpt-oss and Granite route every layer, their experts as wide as intermediate_size; Qwen3.5-MoE
        // every layer too, its experts moe_intermediate_size wide
        boolean everyLayer = mixtral || gptOss || olmoe || qwen35 || granite;
        // transformers 5 saves Qwen3-MoE's num_experts as num_local_experts (an attribute map); read whichever is there
        String expertsField = c.has("num_local_experts") ? "num_local_experts" : "num_experts";
        int experts = JsonFields.integer(c, expertsField,
                mixtral || granite ? 8 : olmoe ? 64 : qwen35 ? 256 : lfm2 ? 32 : 60, 1, ConfigLimits.EXPERTS, at);
        int perToken = JsonFields.integer(c, "num_experts_per_tok", mixtral || granite ? 2 : olmoe || qwen35 ? 8 : 4, 1,
                ConfigLimits.EXPERTS, at);
        int width = qwen35 || lfm2 ? JsonFields.integer(c, "moe_intermediate_size", qwen35 ? 512 : 1792, 1,
                ConfigLimits.INTERMEDIATE, at)
                : everyLayer ? JsonFields.requiredInteger(c, "intermediate_size", 1, ConfigLimits.INTERMEDIATE, at)
                : JsonFields.requiredInteger(c, "moe_intermediate_size", 1, ConfigLimits.INTERMEDIATE, at);
        int shared = type.equals("qwen2_moe") || qwen35 ? JsonFields.integer(c, "shared_expert_intermediate_size",
                qwen35 ? 512 : 0, 0, ConfigLimits.INTERMEDIATE, at) : 0;
        boolean[] sparse = new boolean[layers];
        int step = everyLayer ? 1 : JsonFields.integer(c, "decoder_sparse_step", 1, 1, ConfigLimits.LAYERS, at);
        // LFM2-MoE's first num_dense_layers keep a dense MLP
        int dense = lfm2 ? JsonFields.integer(c, "num_dense_layers", 2, 0, layers, at) : 0;
        for (int i = 0; i < layers; i++) {
            sparse[i] = (i + 1) % step == 0 && i >= dense;
        }
        JsonNode mlpOnly = c.path("mlp_only_layers");
        if (!everyLayer && mlpOnly.isArray()) {
            for (JsonNode n : mlpOnly) {
                if (!n.canConvertToExactIntegral() || n.asLong() < 0 || n.asLong() >= layers) {
                    throw new IllegalArgumentException(at + ": 'mlp_only_layers' holds " + n + ", which is not a layer "
                            + "index in [0, " + layers + ")");
                }
                sparse[n.asInt()] = false;
            }
        }
        double jitter = JsonFields.number(c, "router_jitter_noise", 0.0, v -> v >= 0, ">= 0", at);
        if (jitter > 0) {
            LoggerFactory.getLogger(MoeConfig.class).warn("{}: router_jitter_noise = {} is not applied: training "
                    + "routes the hidden states as they are, as transformers does with a noise of 0", at, jitter);
        }
        Naming naming = mixtral ? Naming.MIXTRAL : gptOss ? Naming.GPT_OSS : granite ? Naming.GRANITE
                : lfm2 ? Naming.LFM2 : Naming.QWEN;
        // Granite's softmax over the k chosen logits is the renormalisation
        return new MoeConfig(naming, experts, perToken, width,
                mixtral || gptOss || qwen35 || granite || JsonFields.bool(c, "norm_topk_prob", lfm2, at), shared, sparse,
                JsonFields.bool(c, "output_router_logits", false, at),
                (float) JsonFields.number(c, "router_aux_loss_coef", olmoe ? 0.01 : 0.001, v -> v >= 0, ">= 0", at),
                (float) JsonFields.number(c, "swiglu_alpha", 1.702, v -> v > 0 && v < 1e4, "in (0, 1e4)", at),
                (float) JsonFields.number(c, "swiglu_limit", 7.0, v -> v > 0, "> 0", at),
                lfm2 ? new SigmoidRouting(JsonFields.bool(c, "use_expert_bias", true, at),
                        (float) JsonFields.number(c, "routed_scaling_factor", 1.0, v -> v > 0, "> 0", at), 1e-6f)
                        : null);
    }

    /**
     * The matrix parameters of the sparse layers' routers and experts.
     *
     * @param hidden the hidden size
     * @return their count
     */
    long parameterCount(long hidden) {
        long perSparseLayer = numExperts * (3 * hidden * expertIntermediateSize + hidden)
                + 3 * hidden * sharedExpertIntermediateSize + (sharedExpertIntermediateSize > 0 ? hidden : 0);
        long count = 0;
        for (boolean s : sparseLayers) {
            count += s ? perSparseLayer : 0;
        }
        return count;
    }
}
