package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The mixture-of-experts switches of a Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE, gpt-oss, Qwen3.5-MoE, Granite 3 MoE,
 * Granite 4.0 H, LFM2-MoE, GLM-4.5, ERNIE-4.5-MoE, DeepSeek-V2/V3, Mistral 4, Nemotron-H or Gemma 4 (with
 * {@code enable_moe_block}) config.json: which layers route each token to {@code numExpertsPerTok} of
 * {@code numExperts} MLPs (gated but Nemotron-H's), and how.
 *
 * @param naming the checkpoint's module names for the block and its experts
 * @param numExperts experts per sparse layer ({@code num_local_experts}, or {@code num_experts}: either key in every
 *                   family)
 * @param numExpertsPerTok experts each token is sent to, k ({@code num_experts_per_tok}; Gemma 4's
 *                         {@code top_k_experts})
 * @param expertIntermediateSize each expert's MLP width (Mixtral's, OLMoE's, gpt-oss's and Granite's
 *                               {@code intermediate_size}, else
 *                               {@code moe_intermediate_size})
 * @param normTopkProb whether a token's k routing weights are renormalised to sum to 1 (always for Mixtral, Gemma 4
 *                     and gpt-oss, whose softmax over the k chosen logits is the same, {@code norm_topk_prob} for the
 *                     Qwen families and OLMoE)
 * @param sharedExpertIntermediateSize the width of the MLP every token passes through beside its experts: Qwen2-MoE's
 *                                     {@code shared_expert_intermediate_size}, GLM-4.5's and ERNIE-4.5-MoE's
 *                                     {@code moe_intermediate_size} times their shared experts' count; 0 for none
 * @param sharedExpertGated whether that MLP's output is scaled by {@code sigmoid(shared_expert_gate(x))} (Qwen2-MoE's
 *                          and Qwen3.5-MoE's {@code shared_expert}; GLM-4.5's and ERNIE's {@code shared_experts} are
 *                          added as they are)
 * @param sparseLayers per layer, whether its MLP is the mixture (else a dense MLP of {@code intermediate_size}):
 *                     Qwen's {@code decoder_sparse_step} and {@code mlp_only_layers}, LFM2-MoE's
 *                     {@code num_dense_layers}, GLM-4.5's {@code first_k_dense_replace}, ERNIE's
 *                     {@code moe_layer_start_index}, {@code moe_layer_end_index} and {@code moe_layer_interval}
 * @param outputRouterLogits whether training adds the router's load-balancing loss ({@code output_router_logits})
 * @param routerAuxLossCoef that loss's weight ({@code router_aux_loss_coef})
 * @param swigluAlpha gpt-oss's experts' sigmoid gain ({@code swiglu_alpha}, 1.702); unused by the others
 * @param swigluLimit gpt-oss's experts' clamp ({@code swiglu_limit}, 7); unused by the others
 * @param routing how the router scores the experts and picks a token's k
 */
public record MoeConfig(Naming naming, int numExperts, int numExpertsPerTok, int expertIntermediateSize,
                        boolean normTopkProb, int sharedExpertIntermediateSize, boolean sharedExpertGated,
                        boolean[] sparseLayers, boolean outputRouterLogits, float routerAuxLossCoef, float swigluAlpha,
                        float swigluLimit, Routing routing) {

    /**
     * How a router turns its logits into a token's experts and their weights. The softmax routers (Mixtral, Qwen,
     * OLMoE, gpt-oss, Granite) pick the k most probable experts and weigh them by their probabilities. LFM2-MoE's,
     * GLM-4.5's (and DeepSeek-V3's) take the sigmoid of each logit instead; LFM2-MoE, GLM-4.5 and ERNIE-4.5-MoE pick by
     * the scores plus a per-expert bias of the checkpoint, which balances the experts' loads and weighs none; GLM-4.5
     * may first keep a token's {@code groupsPerToken} best of {@code groups} groups of experts (a group's score: the
     * sum of its two best biased scores; DeepSeek-V2's softmax router: its best probability). The chosen scores are
     * then renormalised where
     * {@link MoeConfig#normTopkProb} says (divided by their sum plus {@code normEpsilon}) and multiplied by
     * {@code scalingFactor}.
     *
     * @param sigmoid whether each expert is scored by the sigmoid of its logit rather than a softmax over all
     * @param selectionBias where the checkpoint keeps the bias added to the scores for the pick
     * @param groups the groups the experts fall into, in order ({@code n_group}; 1 for none)
     * @param groupsPerToken the groups a token's experts are picked from ({@code topk_group})
     * @param groupScore how a group is scored when there are several
     * @param normEpsilon added to the chosen scores' sum when they are renormalised
     * @param scalingFactor the weights' factor ({@code routed_scaling_factor})
     * @param float32Logits whether the router's product itself runs in float32 under any precision (GLM-4.5's and
     *                      ERNIE's routers cast the hidden states and their weight; the others compute the logits
     *                      in the model's precision, and only the scores in float32)
     */
    public record Routing(boolean sigmoid, SelectionBias selectionBias, int groups, int groupsPerToken,
                          GroupScore groupScore, float normEpsilon, float scalingFactor, boolean float32Logits) {
        /** The softmax top-k of Mixtral, Qwen, OLMoE, gpt-oss and Granite. */
        public static final Routing SOFTMAX = new Routing(false, SelectionBias.NONE, 1, 1, GroupScore.TOP_TWO_SUM, 0f,
                1f, false);

        /** Checks the groups against each other. */
        public Routing {
            if (groups < 1 || groupsPerToken < 1 || groupsPerToken > groups) {
                throw new IllegalArgumentException("config.json: topk_group = " + groupsPerToken + " must be between 1 "
                        + "and n_group = " + groups);
            }
        }
    }

    /** How a group of experts is scored for a token when the router keeps only its best groups. */
    public enum GroupScore {
        /** The sum of the group's two highest scores (DeepSeek-V3, GLM-4.5). */
        TOP_TWO_SUM,
        /** The group's highest score (DeepSeek-V2's {@code group_limited_greedy}). */
        MAX
    }

    /** Where a router's selection bias lives in the checkpoint, if it has one. */
    public enum SelectionBias {
        /** No bias: the experts are picked by their scores. */
        NONE,
        /** LFM2-MoE's {@code expert_bias} (E), held by the sparse block. */
        BLOCK,
        /** GLM-4.5's and DeepSeek-V3's {@code gate.e_score_correction_bias} (E), held by the router. */
        ROUTER,
        /** ERNIE-4.5-MoE's {@code moe_statics.e_score_correction_bias} (1, E), a module of its own in the block. */
        STATICS
    }

    /**
     * The keys a config.json may count a mixture's experts under: transformers 5 writes {@code num_local_experts} for
     * several families, their own configs {@code num_experts}, {@code n_routed_experts} (GLM-4.5, DeepSeek) or
     * {@code moe_num_experts} (ERNIE).
     */
    static final List<String> EXPERT_COUNT_KEYS = List.of("num_local_experts", "num_experts", "n_routed_experts",
            "moe_num_experts");
    /** The {@code model_type} of GLM-4.5, GLM-4.5-Air and GLM-4.6. */
    public static final String GLM_MOE = "glm4_moe";
    /** The {@code model_type} of Qwen3-VL-MoE's language model (inside the {@code qwen3_vl_moe} checkpoints). */
    public static final String QWEN3_VL_MOE_TEXT = "qwen3_vl_moe_text";
    /** The {@code model_type} of ERNIE-4.5-21B-A3B and ERNIE-4.5-300B-A47B. */
    public static final String ERNIE_MOE = "ernie4_5_moe";

    /**
     * The {@code model_type} values with a mixture of experts ({@code granitemoehybrid}'s has one where
     * {@code num_local_experts} is above 0).
     */
    public static final Set<String> MODEL_TYPES = Set.of("mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "gpt_oss",
            DecoderConfig.QWEN35_MOE_TEXT, "granitemoe", "granitemoeshared", GraniteHybridLayers.MODEL_TYPE,
            ShortConvConfig.MOE_MODEL_TYPE, MoeConfig.GLM_MOE, MoeConfig.ERNIE_MOE, LatentAttentionConfig.MODEL_TYPE,
            LatentAttentionConfig.V2_MODEL_TYPE, DecoderConfig.QWEN3_NEXT, MoeConfig.QWEN3_VL_MOE_TEXT,
            LatentAttentionConfig.MISTRAL4_MODEL_TYPE,
            BlockPattern.MODEL_TYPE);

    /** How a checkpoint names the sparse block, its router and its experts' projections. */
    public enum Naming {
        /** Mixtral: {@code block_sparse_moe.gate}, {@code block_sparse_moe.experts.N.w1} (gate), {@code w3}, {@code w2}. */
        MIXTRAL("block_sparse_moe", "gate", false, MlpNames.MIXTRAL),
        /** Qwen2-MoE, Qwen3-MoE: {@code mlp.gate}, {@code mlp.experts.N.gate_proj}, {@code up_proj}, {@code down_proj}. */
        QWEN("mlp", "gate", false, MlpNames.STANDARD),
        /**
         * gpt-oss: {@code mlp.router} (with a bias) and the experts stacked into {@code mlp.experts.gate_up_proj},
         * {@code gate_up_proj_bias}, {@code down_proj}, {@code down_proj_bias} ({@link FusedExperts}).
         */
        GPT_OSS("mlp", "router", true, null),
        /**
         * Granite 3's mixtures and Granite 4.0 H: {@code block_sparse_moe.router.layer} ({@link NestedRouter}) and the
         * experts stacked into {@code block_sparse_moe.input_linear} (gate and up halves) and {@code output_linear}
         * ({@link StackedLinear}s); where there is one, the layer's {@code shared_mlp} beside the block.
         */
        GRANITE("block_sparse_moe", "router", false, null),
        /** LFM2-MoE: {@code feed_forward.gate}, {@code feed_forward.experts.N.w1} (gate), {@code w3}, {@code w2}. */
        LFM2("feed_forward", "gate", false, MlpNames.MIXTRAL),
        /**
         * Qwen3-VL-MoE's language model: {@code mlp.gate} and the experts stacked into {@code mlp.experts.gate_up_proj}
         * (gate then up halves) and {@code down_proj}, without biases ({@link FusedExperts}).
         */
        QWEN3_VL("mlp", "gate", false, null),
        /**
         * Mistral 4: {@code mlp.gate} and the experts stacked into {@code mlp.experts.gate_up_proj} (E, 2I, C) and
         * {@code down_proj} (E, C, I), each expert's matrix held as a linear layer's weight (transformers' own
         * orientation, which its checkpoints store: no conversion on load), beside {@code mlp.shared_experts}.
         */
        MISTRAL4("mlp", "gate", false, null),
        /**
         * Nemotron-H: the block is the layer's {@code mixer}: {@code mixer.gate} (GLM-4.5's router with its
         * {@code e_score_correction_bias}), {@code mixer.experts.N.up_proj} and {@code down_proj} without a gate, and
         * {@code mixer.shared_experts} named alike, as the checkpoints store them (transformers stacks the experts on
         * load).
         */
        NEMOTRON_H("mixer", "gate", false, new MlpNames(null, "up_proj", "down_proj")),
        /**
         * Gemma 4 ({@code enable_moe_block}): no block module, the mixture sits on the layer itself beside its dense
         * {@code mlp}: {@code router} ({@link Gemma4Router}: {@code proj}, {@code scale}, {@code per_expert_scale})
         * and the experts stacked into {@code experts.gate_up_proj} (E, 2I, C) and {@code down_proj} (E, C, I), held
         * as linear layers' weights as Mistral 4's.
         */
        GEMMA4(null, "router", false, null);

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
         * @return true for gpt-oss, Granite and Qwen3-VL-MoE
         */
        public boolean stacked() {
            return expert == null;
        }

        /**
         * The sparse block's name in its layer.
         *
         * @return {@code block_sparse_moe}, {@code mlp} or LFM2-MoE's {@code feed_forward}; null for Gemma 4's
         *         mixture, whose router and experts are the layer's own children
         */
        public String block() {
            return block;
        }

        /**
         * Whether the mixture runs beside the layer's dense MLP, its router and experts children of the layer itself
         * rather than of a block in the MLP's place.
         *
         * @return true for Gemma 4
         */
        public boolean besideMlp() {
            return block == null;
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
        int groups = routing.groups();
        int smallest = routing.groupScore() == GroupScore.TOP_TWO_SUM ? 2 : 1;
        if (groups > 1 && (numExperts % groups != 0 || numExperts / groups < smallest)) {
            throw new IllegalArgumentException("config.json: n_group = " + groups + " must divide the " + numExperts
                    + " experts into groups" + (smallest == 2 ? " of at least 2 (a group is scored by its two best "
                    + "experts)" : ""));
        }
        if ((long) routing.groupsPerToken() * (numExperts / groups) < numExpertsPerTok) {
            throw new IllegalArgumentException("config.json: topk_group = " + routing.groupsPerToken() + " groups of "
                    + numExperts / groups + " experts hold fewer than num_experts_per_tok = " + numExpertsPerTok
                    + ": raise topk_group or lower num_experts_per_tok");
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
        boolean granite = type.startsWith("granite");
        boolean qwen35 = type.equals(DecoderConfig.QWEN35_MOE_TEXT);
        boolean qwen3Next = type.equals(DecoderConfig.QWEN3_NEXT);
        boolean qwen3Vl = type.equals(QWEN3_VL_MOE_TEXT);
        boolean lfm2 = type.equals(ShortConvConfig.MOE_MODEL_TYPE);
        // DeepSeek-V3's router and mixture are GLM-4.5's; DeepSeek-V2's router is a softmax
        boolean deepseekV2 = type.equals(LatentAttentionConfig.V2_MODEL_TYPE);
        boolean glm = type.equals(GLM_MOE) || type.equals(LatentAttentionConfig.MODEL_TYPE);
        boolean ernie = type.equals(ERNIE_MOE);
        boolean nemotronH = type.equals(BlockPattern.MODEL_TYPE);
        boolean mistral4 = type.equals(LatentAttentionConfig.MISTRAL4_MODEL_TYPE);
        boolean gemma4 = type.equals(Gemma4Config.MODEL_TYPE);
        // the families' own defaults are FamilyDefaults'; these are Qwen2-MoE's and Qwen3-MoE's
        // Gemma4TextConfig has no default count or k (transformers fails to build the mixture without them)
        int experts = gemma4 ? JsonFields.requiredInteger(c, "num_experts", 1, ConfigLimits.EXPERTS, at)
                : JsonFields.integer(c, presentOf(c, EXPERT_COUNT_KEYS), 60, 1, ConfigLimits.EXPERTS, at);
        // nor has DeepSeek-V2's a default k
        String perTokenKey = presentOf(c, List.of("num_experts_per_tok", "moe_k"));
        int perToken = gemma4 ? JsonFields.requiredInteger(c, "top_k_experts", 1, experts, at)
                : deepseekV2 ? JsonFields.requiredInteger(c, perTokenKey, 1, ConfigLimits.EXPERTS, at)
                : JsonFields.integer(c, perTokenKey, 4, 1, ConfigLimits.EXPERTS, at);
        // Mixtral, OLMoE, gpt-oss and Granite size their experts by intermediate_size, the others by
        // moe_intermediate_size (defaulted by FamilyDefaults where the family's config class has a default)
        boolean byIntermediate = mixtral || gptOss || granite || type.equals("olmoe");
        int width = JsonFields.requiredInteger(c, byIntermediate ? "intermediate_size" : "moe_intermediate_size", 1,
                ConfigLimits.INTERMEDIATE, at);
        boolean gatedShare = type.equals("qwen2_moe") || qwen35 || qwen3Next;
        int shared = gatedShare ? JsonFields.integer(c, "shared_expert_intermediate_size", 0, 0, ConfigLimits.INTERMEDIATE, at)
                // Nemotron-H's shared experts have a width of their own, whatever n_shared_experts says
                : nemotronH ? JsonFields.requiredInteger(c, "moe_shared_expert_intermediate_size", 1,
                        ConfigLimits.INTERMEDIATE, at)
                : glm || ernie || deepseekV2 || mistral4 ? Math.multiplyExact(width, JsonFields.integer(c, ernie
                        ? "moe_num_shared_experts" : "n_shared_experts", 0, 0, ConfigLimits.EXPERTS, at))
                : 0;
        double jitter = JsonFields.number(c, "router_jitter_noise", 0.0, v -> v >= 0, ">= 0", at);
        if (jitter > 0) {
            LoggerFactory.getLogger(MoeConfig.class).warn("{}: router_jitter_noise = {} is not applied: training "
                    + "routes the hidden states as they are, as transformers does with a noise of 0", at, jitter);
        }
        Naming naming = mixtral ? Naming.MIXTRAL : gptOss ? Naming.GPT_OSS : granite ? Naming.GRANITE
                : lfm2 ? Naming.LFM2 : qwen3Vl ? Naming.QWEN3_VL : nemotronH ? Naming.NEMOTRON_H
                : mistral4 ? Naming.MISTRAL4 : gemma4 ? Naming.GEMMA4 : Naming.QWEN;
        // Mixtral's, gpt-oss's and Granite's softmax over the k chosen logits is the renormalisation; Qwen3.5-MoE's,
        // Qwen3-VL-MoE's and ERNIE's routers always renormalise, DeepSeek-V2's never (it does not read norm_topk_prob)
        boolean renormalises = !deepseekV2 && (mixtral || gptOss || granite || qwen35 || qwen3Vl || ernie || gemma4
                || JsonFields.bool(c, "norm_topk_prob", false, at));
        if (ernie) {
            requireNegligibleNormMin(c, experts);
        }
        return new MoeConfig(naming, experts, perToken, width, renormalises, shared, gatedShare,
                // Gemma4ForCausalLM adds no load-balancing loss, whatever output_router_logits says
                sparseLayers(c, type, layers), !gemma4 && JsonFields.bool(c, "output_router_logits", false, at),
                (float) JsonFields.number(c, "router_aux_loss_coef", 0.001, v -> v >= 0, ">= 0", at),
                (float) JsonFields.number(c, "swiglu_alpha", 1.702, v -> v > 0 && v < 1e4, "in (0, 1e4)", at),
                (float) JsonFields.number(c, "swiglu_limit", 7.0, v -> v > 0, "> 0", at),
                lfm2 ? new Routing(true, JsonFields.bool(c, "use_expert_bias", true, at) ? SelectionBias.BLOCK
                        : SelectionBias.NONE, 1, 1, GroupScore.TOP_TWO_SUM, 1e-6f, scalingFactor(c), false)
                        // Nemotron-H's router is DeepSeek-V3's, as GLM-4.5's
                        : glm || nemotronH ? new Routing(true, SelectionBias.ROUTER,
                                JsonFields.integer(c, "n_group", 1, 1, ConfigLimits.EXPERTS, at),
                                JsonFields.integer(c, "topk_group", 1, 1, ConfigLimits.EXPERTS, at),
                                GroupScore.TOP_TWO_SUM, 1e-20f, scalingFactor(c), true)
                        : ernie ? new Routing(false, SelectionBias.STATICS, 1, 1, GroupScore.TOP_TWO_SUM, 0f, 1f, true)
                        : deepseekV2 ? deepseekV2Routing(c)
                        // Mistral 4's: DeepSeek-V3's groups (scored by their two best) over softmax probabilities,
                        // without a selection bias, in the model's dtype
                        : mistral4 ? new Routing(false, SelectionBias.NONE,
                                JsonFields.integer(c, "n_group", 1, 1, ConfigLimits.EXPERTS, at),
                                JsonFields.integer(c, "topk_group", 1, 1, ConfigLimits.EXPERTS, at),
                                GroupScore.TOP_TWO_SUM, 1e-20f, scalingFactor(c), false)
                        : Routing.SOFTMAX);
    }

    /**
     * DeepSeek-V2's router: a float32 softmax, its top k over all experts ({@code topk_method} greedy) or within a
     * token's {@code topk_group} best of {@code n_group} groups scored by their best probability
     * ({@code group_limited_greedy}), the weights times {@code routed_scaling_factor}.
     */
    private static Routing deepseekV2Routing(JsonNode c) {
        String at = "config.json";
        if (JsonFields.bool(c, "norm_topk_prob", false, at)
                || JsonFields.integer(c, "moe_layer_freq", 1, 1, ConfigLimits.LAYERS, at) != 1) {
            LoggerFactory.getLogger(MoeConfig.class).warn("{}: norm_topk_prob and moe_layer_freq are not applied to "
                    + "DeepSeek-V2: its weights stay unnormalised and every layer from first_k_dense_replace on routes, "
                    + "as transformers computes the model (DeepSeek's own code would read them)", at);
        }
        String method = c.path("topk_method").asText("greedy");
        boolean grouped = switch (method) {
            case "greedy" -> false;
            case "group_limited_greedy" -> true;
            default -> throw new IllegalArgumentException(at + ": topk_method '" + method + "' is not one of DeepSeek-V2's "
                    + "greedy or group_limited_greedy");
        };
        return new Routing(false, SelectionBias.NONE,
                grouped ? JsonFields.requiredInteger(c, "n_group", 1, ConfigLimits.EXPERTS, at) : 1,
                grouped ? JsonFields.requiredInteger(c, "topk_group", 1, ConfigLimits.EXPERTS, at) : 1,
                GroupScore.MAX, 0f, scalingFactor(c), true);
    }

    /** The first of {@code names} that {@code c} holds (the key transformers wrote), else the first. */
    private static String presentOf(JsonNode c, List<String> names) {
        return names.stream().filter(c::has).findFirst().orElse(names.getFirst());
    }

    private static float scalingFactor(JsonNode c) {
        return (float) JsonFields.number(c, "routed_scaling_factor", 1.0, v -> v > 0, "> 0", "config.json");
    }

    /**
     * Which layers route, by each family's keys: Qwen's {@code decoder_sparse_step} less {@code mlp_only_layers}, LFM2-MoE's
     * dense first {@code num_dense_layers}, GLM-4.5's dense first {@code first_k_dense_replace}, ERNIE's
     * {@code moe_layer_interval} between {@code moe_layer_start_index} and {@code moe_layer_end_index}, Nemotron-H's
     * "moe" ("E") layers of its pattern; every layer in the other families.
     */
    private static boolean[] sparseLayers(JsonNode c, String type, int layers) {
        String at = "config.json";
        boolean[] sparse = new boolean[layers];
        switch (type) {
            case "qwen2_moe", "qwen3_moe", DecoderConfig.QWEN3_NEXT, QWEN3_VL_MOE_TEXT -> {
                int step = JsonFields.integer(c, "decoder_sparse_step", 1, 1, ConfigLimits.LAYERS, at);
                for (int i = 0; i < layers; i++) {
                    sparse[i] = (i + 1) % step == 0;
                }
                JsonNode mlpOnly = c.path("mlp_only_layers");
                for (JsonNode n : mlpOnly.isArray() ? mlpOnly : JsonNodeFactory.instance.arrayNode()) {
                    if (!n.canConvertToExactIntegral() || n.asLong() < 0 || n.asLong() >= layers) {
                        throw new IllegalArgumentException(at + ": 'mlp_only_layers' holds " + n + ", which is not a "
                                + "layer index in [0, " + layers + ")");
                    }
                    sparse[n.asInt()] = false;
                }
            }
            case ShortConvConfig.MOE_MODEL_TYPE, GLM_MOE, LatentAttentionConfig.MODEL_TYPE,
                 LatentAttentionConfig.V2_MODEL_TYPE, LatentAttentionConfig.MISTRAL4_MODEL_TYPE -> {
                int dense = type.equals(ShortConvConfig.MOE_MODEL_TYPE)
                        ? JsonFields.integer(c, "num_dense_layers", 2, 0, layers, at)
                        : JsonFields.integer(c, "first_k_dense_replace", 0, 0, layers, at);
                Arrays.fill(sparse, dense, layers, true);
            }
            case ERNIE_MOE -> {
                int interval = JsonFields.integer(c, "moe_layer_interval", 1, 1, ConfigLimits.LAYERS, at);
                int start = JsonFields.integer(c, "moe_layer_start_index", 1, 0, ConfigLimits.LAYERS, at);
                // ERNIE's config reads -1 as the last layer
                int end = JsonFields.integer(c, "moe_layer_end_index", -1, -1, ConfigLimits.LAYERS, at);
                for (int i = 0; i < layers; i++) {
                    sparse[i] = (i + 1) % interval == 0 && i >= start && (end < 0 || i <= end);
                }
            }
            case BlockPattern.MODEL_TYPE -> sparse = BlockPattern.fromJson(c).layersOf(BlockPattern.Kind.MOE);
            default -> Arrays.fill(sparse, true);
        }
        return sparse;
    }

    /**
     * ERNIE divides the chosen probabilities by their sum clamped below at {@code moe_norm_min}; that sum is at least
     * 1/E (the k largest of E probabilities that sum to 1), so a floor up to 1/E never binds and the division is by
     * the sum, as here. A larger floor is refused rather than silently not applied.
     */
    private static void requireNegligibleNormMin(JsonNode c, int experts) {
        double floor = JsonFields.number(c, "moe_norm_min", 1e-12, v -> v >= 0, ">= 0", "config.json");
        if (floor > 1.0 / experts) {
            throw new IllegalArgumentException("config.json: moe_norm_min = " + floor + " is above 1/" + experts
                    + ", where it would change the routing weights: finetune4j renormalises by the chosen "
                    + "probabilities' sum (the published ERNIE-4.5 checkpoints set 1e-12)");
        }
    }

    /**
     * The matrix parameters of the sparse layers' routers and experts.
     *
     * @param hidden the hidden size
     * @return their count
     */
    long parameterCount(long hidden) {
        // Nemotron-H's experts have no gate: two matrices each
        long matrices = naming.expert() != null && naming.expert().gate() == null ? 2 : 3;
        long perSparseLayer = numExperts * (matrices * hidden * expertIntermediateSize + hidden)
                + matrices * hidden * sharedExpertIntermediateSize + (sharedExpertGated ? hidden : 0);
        long count = 0;
        for (boolean s : sparseLayers) {
            count += s ? perSparseLayer : 0;
        }
        return count;
    }
}
