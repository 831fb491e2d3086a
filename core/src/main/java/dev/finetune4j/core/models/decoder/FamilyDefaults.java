package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;

/**
 * transformers' config-class defaults where a family's differ from the decoder family's common ones: a config.json
 * that leaves a field out means these values, as it does in Python. (Switches that only one family has, such as
 * Granite's multipliers, take their defaults where they are read.)
 */
final class FamilyDefaults {
    private FamilyDefaults() {
    }

    /**
     * A copy of {@code config} with its family's defaults filled in for the fields it lacks; {@code config} itself
     * when the family has none of its own.
     *
     * @param config a parsed config.json
     * @param type its {@code model_type}
     * @return the config with the defaults filled in; {@code config} itself is left unchanged
     */
    static JsonNode fill(JsonNode config, String type) {
        return switch (type) {
            case "gpt_oss" -> gptOss(config.deepCopy());
            case "olmo2", "olmo3", "olmoe" -> olmo(config.deepCopy(), type);
            case "mixtral", "granitemoe", "granitemoeshared", GraniteHybridLayers.MODEL_TYPE ->
                    mixtureOfEight(config.deepCopy());
            case LatentAttentionConfig.V2_MODEL_TYPE -> deepseekV2(config.deepCopy());
            case MoeConfig.QWEN3_VL_MOE_TEXT -> qwen3VlMoe(config.deepCopy());
            case "smollm3" -> smolLm3(config.deepCopy());
            case DecoderConfig.QWEN35_TEXT, DecoderConfig.QWEN35_MOE_TEXT -> qwen35(config.deepCopy());
            case DecoderConfig.QWEN3_NEXT -> qwen3Next(config.deepCopy());
            case "glm", "glm4" -> glm(config.deepCopy());
            case "ernie4_5" -> ernie45(config.deepCopy());
            case MoeConfig.ERNIE_MOE -> ernie45Moe(config.deepCopy());
            case MoeConfig.GLM_MOE -> glm45(config.deepCopy());
            case LatentAttentionConfig.MODEL_TYPE -> deepseekV3(config.deepCopy());
            case "cohere", "cohere2" -> cohere(config.deepCopy(), type);
            case "seed_oss" -> seedOss(config.deepCopy());
            case "starcoder2" -> starCoder2(config.deepCopy());
            case "arcee" -> arcee(config.deepCopy());
            case DecoderConfig.APERTUS -> apertus(config.deepCopy());
            case DecoderConfig.MINISTRAL -> ministral(config.deepCopy());
            case DecoderConfig.MINISTRAL3 -> ministral3(config.deepCopy());
            case LatentAttentionConfig.MISTRAL4_MODEL_TYPE -> mistral4(config.deepCopy());
            case ShortConvConfig.MODEL_TYPE, ShortConvConfig.MOE_MODEL_TYPE -> lfm2(config.deepCopy(), type);
            case BlockPattern.MODEL_TYPE -> nemotronH(config.deepCopy());
            case Gemma4Config.MODEL_TYPE -> gemma4(config.deepCopy());
            default -> config;
        };
    }

    /**
     * gpt-oss: 128 experts of which 4 per token, head size 64, 131,072 positions, q/k/v/o biases, RMSNorm epsilon
     * 1e-5, a 128-token sliding window on every other layer (the first slides), and YaRN rotary (factor 32 over 4,096
     * positions, ramp ends not rounded) with theta 150,000.
     */
    private static JsonNode gptOss(ObjectNode c) {
        if (!c.has("num_local_experts") && !c.has("num_experts")) {
            c.put("num_local_experts", 128);
        }
        putIfAbsent(c, "num_experts_per_tok", 4);
        putIfAbsent(c, "head_dim", 64);
        putIfAbsent(c, "max_position_embeddings", 131072);
        putIfAbsent(c, "sliding_window", 128);
        putIfAbsent(c, "attention_bias", true);
        putIfAbsent(c, "rms_norm_eps", 1e-5);
        if (!c.has("rope_parameters") && !c.has("rope_scaling")) {
            ObjectNode rope = c.putObject("rope_parameters");
            rope.put("rope_type", "yarn").put("factor", 32.0).put("beta_fast", 32.0).put("beta_slow", 1.0)
                    .put("truncate", false).put("original_max_position_embeddings", 4096);
        }
        putThetaIfAbsent(c, 150000.0);
        return c;
    }

    /** OLMo 2, 3 and OLMoE: RMSNorm epsilon 1e-5; OLMo 3 a 4,096-token window on three layers of four. */
    private static JsonNode olmo(ObjectNode c, String type) {
        putIfAbsent(c, "rms_norm_eps", 1e-5);
        if (type.equals("olmoe")) {
            putMixture(c, "num_experts", 64, 8, 0);
            putIfAbsent(c, "router_aux_loss_coef", 0.01);
        }
        if (type.equals("olmo3")) {
            putIfAbsent(c, "sliding_window", 4096);
        }
        return c;
    }

    /** SmolLM3: tied embeddings, 32,768 positions and rotary theta 2,000,000. */
    private static JsonNode smolLm3(ObjectNode c) {
        putIfAbsent(c, "tie_word_embeddings", true);
        putIfAbsent(c, "max_position_embeddings", 32768);
        putThetaIfAbsent(c, 2_000_000.0);
        return c;
    }

    /**
     * Qwen3-Next: Qwen3.5's heads and rotary (its class's base is 10,000: the published configs set 10,000,000), a
     * dense width of 5,632 for the layers {@code mlp_only_layers} keeps dense, 512 experts of 512 of which 10 per token
     * beside a shared expert of 512.
     */
    private static JsonNode qwen3Next(ObjectNode c) {
        putIfAbsent(c, "intermediate_size", 5632);
        putMixture(c, "num_experts", 512, 10, 512);
        putIfAbsent(c, "shared_expert_intermediate_size", 512);
        putIfAbsent(c, "norm_topk_prob", true);
        return qwen35(c);
    }

    /**
     * Qwen3.5's and Qwen3.5-MoE's language models: heads of 256 of which a quarter rotates, 32,768 positions; the
     * mixture's 256 experts of 512 of which 8 per token, beside a shared expert of 512.
     */
    private static JsonNode qwen35(ObjectNode c) {
        if (c.path("model_type").asText().equals(DecoderConfig.QWEN35_MOE_TEXT)) {
            putMixture(c, "num_experts", 256, 8, 512);
            putIfAbsent(c, "shared_expert_intermediate_size", 512);
        }
        putIfAbsent(c, "head_dim", 256);
        putIfAbsent(c, "max_position_embeddings", 32768);
        putPartialRotaryIfAbsent(c, 0.25);
        return c;
    }

    /**
     * GLM and GLM-4: heads of 128 of which half rotates, 2 key/value heads, 131,072 positions, RMSNorm epsilon
     * 1.5625e-7.
     */
    private static JsonNode glm(ObjectNode c) {
        putIfAbsent(c, "head_dim", 128);
        putIfAbsent(c, "num_key_value_heads", 2);
        putIfAbsent(c, "max_position_embeddings", 131072);
        putIfAbsent(c, "rms_norm_eps", 1.5625e-7);
        putPartialRotaryIfAbsent(c, 0.5);
        return c;
    }

    /** ERNIE 4.5: heads of 128, 2 key/value heads, 131,072 positions, RMSNorm epsilon 1e-5, tied embeddings. */
    private static JsonNode ernie45(ObjectNode c) {
        putIfAbsent(c, "head_dim", 128);
        putIfAbsent(c, "num_key_value_heads", 2);
        putIfAbsent(c, "max_position_embeddings", 131072);
        putIfAbsent(c, "rms_norm_eps", 1e-5);
        putIfAbsent(c, "tie_word_embeddings", true);
        return c;
    }

    /**
     * ERNIE-4.5-MoE: 4 key/value heads, 131,072 positions, tied embeddings (heads of hidden_size / heads); 64 experts of
     * 1,536 of which 6 per token, beside 2 shared ones.
     */
    private static JsonNode ernie45Moe(ObjectNode c) {
        putMixture(c, "moe_num_experts", 64, 6, 1536);
        putIfAbsent(c, "moe_num_shared_experts", 2);
        putIfAbsent(c, "num_key_value_heads", 4);
        putIfAbsent(c, "max_position_embeddings", 131072);
        putIfAbsent(c, "tie_word_embeddings", true);
        return c;
    }

    /**
     * GLM-4.5: 8 key/value heads, 131,072 positions, half of each head rotated; 128 experts of 1,408 of which 8 per
     * token (renormalised), beside one shared expert, after one dense layer.
     */
    private static JsonNode glm45(ObjectNode c) {
        putMixture(c, "n_routed_experts", 128, 8, 1408);
        putIfAbsent(c, "n_shared_experts", 1);
        putIfAbsent(c, "norm_topk_prob", true);
        putIfAbsent(c, "first_k_dense_replace", 1);
        putIfAbsent(c, "num_key_value_heads", 8);
        putIfAbsent(c, "max_position_embeddings", 131072);
        putPartialRotaryIfAbsent(c, 0.5);
        return c;
    }

    /**
     * DeepSeek-V3: 4,096 positions (its YaRN settings extend them); 256 experts of 2,048 of which 8 per token
     * (renormalised, times 2.5) from 4 of 8 groups, beside one shared expert, after 3 dense layers.
     */
    private static JsonNode deepseekV3(ObjectNode c) {
        putIfAbsent(c, "max_position_embeddings", 4096);
        putMixture(c, "n_routed_experts", 256, 8, 2048);
        putIfAbsent(c, "n_shared_experts", 1);
        putIfAbsent(c, "norm_topk_prob", true);
        putIfAbsent(c, "n_group", 8);
        putIfAbsent(c, "topk_group", 4);
        putIfAbsent(c, "routed_scaling_factor", 2.5);
        putIfAbsent(c, "first_k_dense_replace", 3);
        return c;
    }

    /**
     * DeepSeek-V2: 64 experts of 1,407 beside 2 shared ones (its config has no default for the experts per token,
     * which transformers then fails without).
     */
    private static JsonNode deepseekV2(ObjectNode c) {
        putMixture(c, "n_routed_experts", 64, 0, 1407);
        putIfAbsent(c, "n_shared_experts", 2);
        return c;
    }

    /** Qwen3-VL-MoE's language model: 60 experts of 1,408 of which 4 per token. */
    private static JsonNode qwen3VlMoe(ObjectNode c) {
        putMixture(c, "num_experts", 60, 4, 1408);
        return c;
    }

    /**
     * Mixtral, Granite 3's mixtures and Granite 4: 8 experts of which 2 per token (Granite 4 has a mixture unless its
     * config sets num_local_experts to 0).
     */
    private static JsonNode mixtureOfEight(ObjectNode c) {
        putMixture(c, "num_local_experts", 8, 2, 0);
        return c;
    }

    /**
     * A mixture's sizes where its config leaves them out: its experts under the family's name for them (unless it
     * names them under another of {@link MoeConfig#EXPERT_COUNT_KEYS}), the experts per token (0: no default) and each
     * expert's width (0: the family sizes them by intermediate_size).
     */
    private static void putMixture(ObjectNode c, String expertsKey, int experts, int perToken, int width) {
        if (MoeConfig.EXPERT_COUNT_KEYS.stream().noneMatch(c::has)) {
            c.put(expertsKey, experts);
        }
        if (perToken > 0 && !c.has("num_experts_per_tok") && !c.has("moe_k")) {
            c.put("num_experts_per_tok", perToken);
        }
        if (width > 0) {
            putIfAbsent(c, "moe_intermediate_size", width);
        }
    }

    /**
     * Cohere and Cohere 2: tied embeddings and 8,192 positions; Cohere 2's heads are always {@code hidden_size /
     * num_attention_heads} wide (Cohere2Config overwrites a {@code head_dim} it is given).
     */
    private static JsonNode cohere(ObjectNode c, String type) {
        putIfAbsent(c, "tie_word_embeddings", true);
        putIfAbsent(c, "max_position_embeddings", 8192);
        if (type.equals("cohere2")) {
            c.remove("head_dim");
        }
        return c;
    }

    /** Seed-OSS: heads of 128. */
    private static JsonNode seedOss(ObjectNode c) {
        putIfAbsent(c, "head_dim", 128);
        return c;
    }

    /** StarCoder2: GELU's tanh approximation, 2 key/value heads, 4,096 positions, tied embeddings. */
    private static JsonNode starCoder2(ObjectNode c) {
        putIfAbsent(c, "hidden_act", "gelu_pytorch_tanh");
        putIfAbsent(c, "num_key_value_heads", 2);
        putIfAbsent(c, "max_position_embeddings", 4096);
        putIfAbsent(c, "tie_word_embeddings", true);
        return c;
    }

    /** Arcee: the squared ReLU. */
    private static JsonNode arcee(ObjectNode c) {
        putIfAbsent(c, "hidden_act", "relu2");
        return c;
    }

    /**
     * Apertus: xIELU, 65,536 positions, and, where the config names no rotary scaling, llama3's (factor 8 over 8,192
     * positions, frequency factors 1 and 4) with theta 12,000,000: ApertusConfig then ignores a top-level
     * {@code rope_theta}, as here.
     */
    private static JsonNode apertus(ObjectNode c) {
        putIfAbsent(c, "hidden_act", "xielu");
        putIfAbsent(c, "max_position_embeddings", 65536);
        if (!c.hasNonNull("rope_parameters") && !c.hasNonNull("rope_scaling")) {
            c.remove("rope_theta");
            c.putObject("rope_parameters").put("rope_type", "llama3").put("rope_theta", 12_000_000.0)
                    .put("factor", 8.0).put("original_max_position_embeddings", 8192).put("low_freq_factor", 1.0)
                    .put("high_freq_factor", 4.0);
        }
        return c;
    }

    /** Ministral: 131,072 positions (its 4,096-token window is SlidingLayers' default). */
    private static JsonNode ministral(ObjectNode c) {
        putIfAbsent(c, "max_position_embeddings", 131072);
        return c;
    }

    /**
     * Ministral 3: heads of 128, RMSNorm epsilon 1e-5, 262,144 positions, {@code pad_token_id} 11, and, where the
     * config names no rotary settings, YaRN (factor 16 over 16,384 positions, betas 32 and 1, mscale and mscale_all_dim
     * 1) with theta 1,000,000 and the query temperature's beta 0.1: Ministral3Config then ignores a top-level
     * {@code rope_theta}, as here.
     */
    private static JsonNode ministral3(ObjectNode c) {
        putIfAbsent(c, "head_dim", 128);
        putIfAbsent(c, "rms_norm_eps", 1e-5);
        putIfAbsent(c, "max_position_embeddings", 262144);
        putIfAbsent(c, "pad_token_id", 11);
        putTemperedYarnIfAbsent(c, 1_000_000.0, 16.0, 16384);
        return c;
    }

    /**
     * Mistral's default rotary when a config sets none (a top-level {@code rope_theta} is then ignored, as
     * transformers' configs do): YaRN of {@code factor} over {@code original} positions at {@code theta}, betas 32
     * and 1, mscale and mscale_all_dim 1, and Llama 4's query temperature with beta 0.1.
     */
    private static void putTemperedYarnIfAbsent(ObjectNode c, double theta, double factor, int original) {
        if (!c.hasNonNull("rope_parameters") && !c.hasNonNull("rope_scaling")) {
            c.remove("rope_theta");
            c.putObject("rope_parameters").put("rope_type", "yarn").put("rope_theta", theta).put("factor", factor)
                    .put("original_max_position_embeddings", original).put("beta_fast", 32.0).put("beta_slow", 1.0)
                    .put("mscale", 1.0).put("mscale_all_dim", 1.0).put("llama_4_scaling_beta", 0.1);
        }
    }

    /**
     * Mistral 4 as {@code Mistral4Config} fills it: the latent attention's sizes (q_lora_rank 1,024, kv_lora_rank 256,
     * 64 no-rope and 64 rotated dimensions per query and key head, values of 128), a dense MLP of 12,288, 128 experts
     * of 2,048 of which 4 per token beside one shared expert, renormalised, in one group, every layer sparse; 1,048,576 positions,
     * pad_token_id 11, and without rope_parameters YaRN (factor 128 over 8,192 positions, theta 10,000, mscale and
     * mscale_all_dim 1) with a query temperature of beta 0.1 (a top-level rope_theta is then ignored, as there).
     */
    private static JsonNode mistral4(ObjectNode c) {
        putIfAbsent(c, "q_lora_rank", 1024);
        putIfAbsent(c, "kv_lora_rank", 256);
        putIfAbsent(c, "qk_nope_head_dim", 64);
        putIfAbsent(c, "qk_rope_head_dim", 64);
        putIfAbsent(c, "v_head_dim", 128);
        putIfAbsent(c, "intermediate_size", 12288);
        putIfAbsent(c, "max_position_embeddings", 1048576);
        putIfAbsent(c, "pad_token_id", 11);
        putMixture(c, "n_routed_experts", 128, 4, 2048);
        putIfAbsent(c, "n_shared_experts", 1);
        putIfAbsent(c, "norm_topk_prob", true);
        putTemperedYarnIfAbsent(c, 10000.0, 128.0, 8192);
        return c;
    }

    /**
     * Gemma 4's language model (Gemma4TextConfig): vocab 262,144, width 2,304, 30 layers of 8 query heads, 4
     * key/value heads of 256 (full layers: heads of 512), MLPs of 9,216, 131,072 positions, a window of 512, tied
     * embeddings, {@code pad_token_id} 0, per-layer inputs of 256 over 262,144 tokens; every sixth layer full by
     * default and the last always (transformers forces it, warning), the sliding layers rotating at theta 10,000 and
     * the full ones by the "proportional" rule over a quarter of their pairs at theta 1,000,000.
     */
    private static JsonNode gemma4(ObjectNode c) {
        putIfAbsent(c, "vocab_size", 262_144);
        putIfAbsent(c, "hidden_size", 2304);
        putIfAbsent(c, "intermediate_size", 9216);
        putIfAbsent(c, "num_hidden_layers", 30);
        putIfAbsent(c, "num_attention_heads", 8);
        putIfAbsent(c, "num_key_value_heads", 4);
        putIfAbsent(c, "head_dim", 256);
        putIfAbsent(c, "hidden_activation", "gelu_pytorch_tanh");
        putIfAbsent(c, "max_position_embeddings", 131_072);
        putIfAbsent(c, "rms_norm_eps", 1e-6);
        putIfAbsent(c, "pad_token_id", 0);
        putIfAbsent(c, "tie_word_embeddings", true);
        putIfAbsent(c, "sliding_window", 512);
        int layers = JsonFields.integer(c, "num_hidden_layers", 30, 1, ConfigLimits.LAYERS, "config.json");
        if (!c.hasNonNull("layer_types")) {
            ArrayNode types = c.putArray("layer_types");
            for (int i = 0; i < layers; i++) {
                types.add((i + 1) % 6 != 0 ? "sliding_attention" : "full_attention");
            }
        }
        if (c.get("layer_types").isArray() && c.get("layer_types").size() == layers) {
            ((ArrayNode) c.get("layer_types")).set(layers - 1,
                    c.textNode("full_attention"));
        }
        if (!c.hasNonNull("rope_parameters")) {
            ObjectNode rope = c.putObject("rope_parameters");
            rope.putObject("sliding_attention").put("rope_type", "default").put("rope_theta", 10_000.0);
            rope.putObject("full_attention").put("rope_type", "proportional").put("partial_rotary_factor", 0.25)
                    .put("rope_theta", 1_000_000.0);
        }
        return c;
    }

    /**
     * LFM2 and LFM2-MoE: tied embeddings (their older configs' {@code tie_embedding}), 128,000 positions, theta
     * 1,000,000; LFM2's MLP width from {@code block_ff_dim} or {@code intermediate_size} as {@code Lfm2MLP} rewrites it
     * under {@code block_auto_adjust_ff_dim} (two thirds, times {@code block_ffn_dim_multiplier}, rounded up to a
     * multiple of {@code block_multiple_of}); LFM2-MoE's dense layers take {@code intermediate_size} as it is.
     */
    private static JsonNode lfm2(ObjectNode c, String type) {
        if (c.has("tie_embedding")) {
            c.set("tie_word_embeddings", c.get("tie_embedding"));
        }
        putIfAbsent(c, "tie_word_embeddings", true);
        putIfAbsent(c, "max_position_embeddings", 128000);
        putThetaIfAbsent(c, 1_000_000.0);
        if (type.equals(ShortConvConfig.MOE_MODEL_TYPE)) {
            putMixture(c, "num_experts", 32, 4, 1792);
            putIfAbsent(c, "norm_topk_prob", true);
            return c;
        }
        if (c.has("block_ff_dim")) {
            c.set("intermediate_size", c.get("block_ff_dim"));
        }
        String at = "config.json";
        if (JsonFields.bool(c, "block_auto_adjust_ff_dim", true, at)) {
            long width = 2L * JsonFields.integer(c, "intermediate_size", 12288, 1, ConfigLimits.INTERMEDIATE, at) / 3;
            JsonNode multiplier = c.path("block_ffn_dim_multiplier");
            if (!c.has("block_ffn_dim_multiplier") || !multiplier.isNull()) {
                width = (long) (JsonFields.number(c, "block_ffn_dim_multiplier", 1.0, m -> m > 0, "> 0", at) * width);
                long multiple = JsonFields.integer(c, "block_multiple_of", 256, 1, ConfigLimits.INTERMEDIATE, at);
                width = multiple * ((width + multiple - 1) / multiple);
            }
            c.put("intermediate_size", width);
        }
        return c;
    }

    /**
     * Nemotron-H's older names of the Mamba-2 fields finetune4j reads, and the names NemotronHConfig renames them to
     * (it renames {@code mamba_expand}, {@code mamba_dt_max}, ... too, which no forward pass reads).
     */
    private static final String[][] NEMOTRON_H_RENAMES = {{"mamba_n_groups", "n_groups"},
        {"mamba_d_conv", "conv_kernel"}, {"mamba_dt_min", "time_step_min"}, {"mamba_conv_bias", "use_conv_bias"}};

    /**
     * Nemotron-H: its older {@code mamba_*} keys under their current names (an older key wins, as in
     * NemotronHConfig), as many layers as the pattern lists ({@code num_hidden_layers} is derived from it), and
     * NemotronHConfig's defaults: a vocabulary of 131,072, hidden size 4,096, 32 heads of 128 over 8 key/value heads,
     * MLPs of 21,504 with the squared ReLU, 128 Mamba-2 heads of 64 with 8 groups and states of 128, a convolution of
     * 4, 8 experts of 7,688 of which 2 per token (renormalised) beside a shared one of 7,688, epsilon 1e-5.
     */
    private static JsonNode nemotronH(ObjectNode c) {
        for (String[] rename : NEMOTRON_H_RENAMES) {
            if (c.has(rename[0])) {
                c.set(rename[1], c.get(rename[0]));
            }
        }
        c.put("num_hidden_layers", BlockPattern.fromJson(c).kinds().length);
        putIfAbsent(c, "vocab_size", 131072);
        putIfAbsent(c, "hidden_size", 4096);
        putIfAbsent(c, "num_attention_heads", 32);
        putIfAbsent(c, "num_key_value_heads", 8);
        putIfAbsent(c, "head_dim", 128);
        putIfAbsent(c, "max_position_embeddings", 4096);
        putIfAbsent(c, "intermediate_size", 21504);
        putIfAbsent(c, "mamba_num_heads", 128);
        putIfAbsent(c, "mamba_head_dim", 64);
        putIfAbsent(c, "ssm_state_size", 128);
        putIfAbsent(c, "n_groups", 8);
        putIfAbsent(c, "conv_kernel", 4);
        putMixture(c, "n_routed_experts", 8, 2, 7688);
        putIfAbsent(c, "moe_shared_expert_intermediate_size", 7688);
        putIfAbsent(c, "norm_topk_prob", true);
        return c;
    }

    private static void putThetaIfAbsent(ObjectNode c, double theta) {
        if (!c.has("rope_theta") && !c.path("rope_parameters").has("rope_theta")) {
            c.put("rope_theta", theta);
        }
    }

    /** The rotated fraction of a head, unless set in either place transformers reads it from. */
    private static void putPartialRotaryIfAbsent(ObjectNode c, double factor) {
        if (!c.has("partial_rotary_factor") && !c.path("rope_parameters").has("partial_rotary_factor")) {
            c.put("partial_rotary_factor", factor);
        }
    }

    private static void putIfAbsent(ObjectNode c, String field, int value) {
        if (!c.has(field)) {
            c.put(field, value);
        }
    }

    private static void putIfAbsent(ObjectNode c, String field, double value) {
        if (!c.has(field)) {
            c.put(field, value);
        }
    }

    private static void putIfAbsent(ObjectNode c, String field, String value) {
        if (!c.has(field)) {
            c.put(field, value);
        }
    }

    private static void putIfAbsent(ObjectNode c, String field, boolean value) {
        if (!c.has(field)) {
            c.put(field, value);
        }
    }
}
