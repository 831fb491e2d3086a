package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How the new families' config.json fields become switches, by the rules transformers 5 applies (hand-written
 * configs, expected values worked out by hand), and the messages for configs that cannot be right.
 */
class FamilyConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode base(String type, int layers) {
        ObjectNode c = JSON.createObjectNode();
        c.put("model_type", type).put("vocab_size", 100).put("hidden_size", 64).put("intermediate_size", 96)
                .put("num_hidden_layers", layers).put("num_attention_heads", 4).put("num_key_value_heads", 2);
        return c;
    }

    @Test
    void gemma2DefaultsSlideEveryOtherLayerFromTheFirstAndCapBothScoresAndLogits() {
        DecoderConfig c = DecoderConfig.fromJson(base("gemma2", 4).put("head_dim", 16));
        assertArrayEquals(new boolean[]{true, false, true, false}, c.slidingLayers());
        assertEquals(4096, c.slidingWindowOf(2));
        assertEquals(0, c.slidingWindowOf(1));
        assertEquals(50f, c.attnLogitSoftcapping());
        assertEquals(30f, c.finalLogitSoftcapping());
        assertEquals(1 / 16f, c.attentionScale(), 0f, "query_pre_attn_scalar 256 by default");
        assertTrue(c.tieWordEmbeddings() && c.gemmaNorms());
        assertEquals(DecoderConfig.NormPlacement.SANDWICH, c.norms());
        assertEquals(DecoderConfig.EmbeddingScale.INPUT, c.embeddingScale());
        assertEquals(Activations.Kind.GELU_TANH, c.hiddenAct());
        DecoderConfig uncapped = DecoderConfig.fromJson(base("gemma2", 2).putNull("attn_logit_softcapping")
                .putNull("final_logit_softcapping"));
        assertEquals(0f, uncapped.attnLogitSoftcapping());
        assertEquals(0f, uncapped.finalLogitSoftcapping());
    }

    /**
     * Apertus as ApertusConfig fills it (checked in transformers 5.17): without rope_parameters or rope_scaling the
     * published llama3 rope with theta 12,000,000, a top-level rope_theta ignored; xIELU, eps 1e-5, 65,536 positions;
     * per-head q/k norms, its own norm names, an MLP without a gate. Another hidden_act is an ordinary activation.
     */
    @Test
    void apertusDefaultsAreApertusConfigs() {
        DecoderConfig c = DecoderConfig.fromJson(base("apertus", 2).put("rope_theta", 1e6));
        assertTrue(c.xielu());
        assertNull(c.hiddenAct());
        assertEquals("llama3", c.rope().ropeType());
        assertEquals(12_000_000.0, c.rope().ropeTheta());
        assertEquals(8.0, c.rope().factor());
        assertEquals(8192, c.rope().originalMaxPositionEmbeddings());
        assertEquals(1.0, c.rope().lowFreqFactor());
        assertEquals(4.0, c.rope().highFreqFactor());
        assertEquals(1e-5f, c.normEps());
        assertEquals(65536, c.maxPositionEmbeddings());
        assertEquals(DecoderConfig.QkNorm.PER_HEAD, c.qkNorm());
        assertEquals(DenseMlp.UP_DOWN, c.denseMlp());
        assertEquals(new DecoderConfig.LayerNormNames("attention_layernorm", null, "feedforward_layernorm", null),
                c.normNames());
        ObjectNode legacy = base("apertus", 2).put("rope_theta", 1e6);
        legacy.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 4.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 1024);
        DecoderConfig scaled = DecoderConfig.fromJson(legacy);
        assertEquals(1e6, scaled.rope().ropeTheta(), "with rope_scaling, rope_theta is read");
        assertEquals(4.0, scaled.rope().factor());
        DecoderConfig relu2 = DecoderConfig.fromJson(base("apertus", 2).put("hidden_act", "relu2"));
        assertFalse(relu2.xielu());
        assertEquals(Activations.Kind.RELU2, relu2.hiddenAct());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DecoderConfig.fromJson(base("llama", 2).put("hidden_act", "xielu")));
        assertTrue(e.getMessage().contains("unsupported activation 'xielu'"), e.getMessage());
    }

    /**
     * Ministral 3 as Ministral3Config fills it (checked in transformers 5.17): without rope_parameters its YaRN (factor
     * 16 over 16,384 positions, theta 1,000,000, a top-level rope_theta ignored) and a query temperature of beta 0.1;
     * heads of 128, eps 1e-5, 262,144 positions, pad_token_id 11; no biases whatever attention_bias says; its window,
     * when set, on every layer whatever layer_types says (its model ignores them).
     */
    @Test
    void ministral3DefaultsAreMinistral3Configs() {
        DecoderConfig c = DecoderConfig.fromJson(base("ministral3", 2).put("rope_theta", 5e5)
                .put("attention_bias", true));
        assertEquals("yarn", c.rope().ropeType());
        assertEquals(1e6, c.rope().ropeTheta());
        assertEquals(16.0, c.rope().factor());
        assertEquals(16384, c.rope().originalMaxPositionEmbeddings());
        assertEquals(1.0, c.rope().attentionFactor(), 0.0, "mscale and mscale_all_dim 1: a cos/sin factor of 1");
        assertEquals(new QueryTemperature(0.1, 16384), c.queryTemperature());
        assertEquals(128, c.headDim());
        assertEquals(1e-5f, c.normEps());
        assertEquals(262144, c.maxPositionEmbeddings());
        assertEquals(11, c.paddingRow());
        assertFalse(c.attentionBias() || c.outputBias() || c.mlpBias());
        assertEquals(0, c.slidingWindow());
        ObjectNode windowed = base("ministral3", 2).put("sliding_window", 8);
        windowed.putArray("layer_types").add("full_attention").add("sliding_attention");
        assertArrayEquals(new boolean[]{true, true}, DecoderConfig.fromJson(windowed).slidingLayers());
        ObjectNode off = base("ministral3", 2);
        off.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 1e4)
                .put("llama_4_scaling_beta", 0.0).put("original_max_position_embeddings", 8);
        assertNull(DecoderConfig.fromJson(off).queryTemperature(), "beta 0: a factor of 1 everywhere");
    }

    /**
     * Mistral 4 as Mistral4Config fills it (checked in transformers 5.17): the latent attention's sizes (a null
     * q_lora_rank kept: a plain q_proj), rope_interleave true, 128 experts of 2,048, 4 per token, one shared expert,
     * renormalised by a softmax router in one group, every layer sparse; without rope_parameters its YaRN (factor 128
     * over 8,192 positions, theta 10,000, a top-level rope_theta ignored) and a query temperature of beta 0.1; the
     * softmax scale qk_head_dim^-0.5 times (0.1 ln 128 + 1)^2 (mscale_all_dim 1); 1,048,576 positions, pad_token_id 11.
     */
    @Test
    void mistral4DefaultsAreMistral4Configs() {
        ObjectNode json = base("mistral4", 2).put("rope_theta", 5e5);
        json.remove("num_key_value_heads");
        DecoderConfig c = DecoderConfig.fromJson(json);
        assertEquals(new LatentAttentionConfig(1024, 256, 64, 64, 128), c.latentAttention());
        assertEquals(0, DecoderConfig.fromJson(json.deepCopy().putNull("q_lora_rank")).latentAttention().qLoraRank());
        assertEquals(RotaryLayout.INTERLEAVED, c.rotaryLayout());
        assertEquals(64, c.rotaryDim());
        assertEquals("yarn", c.rope().ropeType());
        assertEquals(1e4, c.rope().ropeTheta());
        assertEquals(128.0, c.rope().factor());
        assertEquals(8192, c.rope().originalMaxPositionEmbeddings());
        assertEquals(new QueryTemperature(0.1, 8192), c.queryTemperature());
        double mscale = 0.1 * Math.log(128) + 1;
        assertEquals(mscale * mscale / Math.sqrt(128), c.attentionScale(), 1e-6);
        MoeConfig moe = c.moe();
        assertEquals(MoeConfig.Naming.MISTRAL4, moe.naming());
        assertEquals(128, moe.numExperts());
        assertEquals(4, moe.numExpertsPerTok());
        assertEquals(2048, moe.expertIntermediateSize());
        assertEquals(2048, moe.sharedExpertIntermediateSize());
        assertTrue(moe.normTopkProb());
        assertArrayEquals(new boolean[]{true, true}, moe.sparseLayers());
        assertEquals(new MoeConfig.Routing(false, MoeConfig.SelectionBias.NONE, 1, 1, MoeConfig.GroupScore.TOP_TWO_SUM,
                1e-20f, 1f, false), moe.routing());
        assertEquals(1048576, c.maxPositionEmbeddings());
        assertEquals(11, c.paddingRow());
        assertEquals(4, c.numKeyValueHeads());
    }

    /** 1 + beta ln(1 + floor(p / original)), by hand: 1 up to original - 1, then ln 2, ln 3, ... steps. */
    @Test
    void theQueryTemperatureStepsByThePretrainedLength() {
        QueryTemperature t = new QueryTemperature(0.1, 16384);
        assertEquals(1f, t.at(0));
        assertEquals(1f, t.at(16383));
        assertEquals(1 + 0.1 * Math.log(2), t.at(16384), 1e-6);
        assertEquals(1 + 0.1 * Math.log(2), t.at(32767), 1e-6);
        assertEquals(1 + 0.1 * Math.log(4), t.at(3 * 16384), 1e-6);
    }

    /**
     * Ministral as MinistralConfig fills it: a 4,096-token window on every layer unless layer_types lists them, eps
     * 1e-6, 131,072 positions, no biases; sliding layers listed without a window are refused.
     */
    @Test
    void ministralSlidesWhereItsLayerTypesSay() {
        DecoderConfig plain = DecoderConfig.fromJson(base("ministral", 2).put("attention_bias", true));
        assertArrayEquals(new boolean[]{true, true}, plain.slidingLayers());
        assertEquals(4096, plain.slidingWindow());
        assertEquals(1e-6f, plain.normEps());
        assertEquals(131072, plain.maxPositionEmbeddings());
        assertFalse(plain.attentionBias() || plain.mlpBias());
        assertNull(plain.queryTemperature());
        ObjectNode listed = base("ministral", 3).put("sliding_window", 32);
        listed.putArray("layer_types").add("sliding_attention").add("full_attention").add("sliding_attention");
        DecoderConfig c = DecoderConfig.fromJson(listed);
        assertEquals(32, c.slidingWindowOf(0));
        assertEquals(0, c.slidingWindowOf(1));
        assertEquals(32, c.slidingWindowOf(2));
        assertArrayEquals(new boolean[]{false, false, false},
                DecoderConfig.fromJson(base("ministral", 3).putNull("sliding_window")).slidingLayers());
        listed.putNull("sliding_window");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(listed));
        assertTrue(e.getMessage().contains("'sliding_window' is not set"), e.getMessage());
    }

    @Test
    void gemma3LegacyAndPerLayerTypeRopeFormsAgree() {
        ObjectNode legacy = base("gemma3_text", 6).put("sliding_window", 512).put("rope_theta", 1e6)
                .put("rope_local_base_freq", 1e4);
        legacy.putObject("rope_scaling").put("rope_type", "linear").put("factor", 8.0);
        ObjectNode v5 = base("gemma3_text", 6).put("sliding_window", 512);
        ObjectNode rope = v5.putObject("rope_parameters");
        rope.putObject("full_attention").put("rope_type", "linear").put("factor", 8.0).put("rope_theta", 1e6);
        rope.putObject("sliding_attention").put("rope_type", "default").put("rope_theta", 1e4);
        for (ObjectNode json : new ObjectNode[]{legacy, v5}) {
            DecoderConfig c = DecoderConfig.fromJson(json);
            assertArrayEquals(new boolean[]{true, true, true, true, true, false}, c.slidingLayers(),
                    "five sliding layers, then a full one");
            assertEquals(1e6, c.rope().ropeTheta());
            assertEquals("linear", c.rope().ropeType());
            assertEquals(8.0, c.rope().factor());
            assertEquals(1e4, c.localRope().ropeTheta());
            assertEquals("default", c.localRope().ropeType());
            assertEquals(DecoderConfig.QkNorm.PER_HEAD, c.qkNorm());
            assertEquals(0f, c.attnLogitSoftcapping(), "Gemma 3 applies no attention soft cap");
        }
    }

    @Test
    void qwenCarriesASlidingWindowOnlyUseSlidingWindowTurnsOn() {
        ObjectNode off = base("qwen2", 3).put("sliding_window", 32).put("max_window_layers", 1);
        assertEquals(0, DecoderConfig.fromJson(off).slidingWindow());
        DecoderConfig on = DecoderConfig.fromJson(off.deepCopy().put("use_sliding_window", true));
        assertArrayEquals(new boolean[]{false, true, true}, on.slidingLayers(), "from layer max_window_layers on");
        assertEquals(32, on.slidingWindowOf(1));
    }

    @Test
    void phi3ReadsPartialRotaryFromRopeParametersAndScalesLongropeByTheExtension() {
        ObjectNode c = base("phi3", 2).put("max_position_embeddings", 131072)
                .put("original_max_position_embeddings", 4096);
        ObjectNode rope = c.putObject("rope_parameters").put("rope_type", "longrope").put("rope_theta", 1e4)
                .put("partial_rotary_factor", 0.75);
        for (String list : new String[]{"short_factor", "long_factor"}) {
            var factors = rope.putArray(list);
            for (int i = 0; i < 6; i++) {
                factors.add(1.0 + i);
            }
        }
        DecoderConfig config = DecoderConfig.fromJson(c);
        assertEquals(12, config.rotaryDim(), "0.75 of a 16-wide head");
        assertEquals(1e-5f, config.normEps(), "Phi-3's default epsilon");
        assertEquals(32.0, config.rope().factor(), "131072 / 4096");
        assertEquals(4096, config.rope().originalMaxPositionEmbeddings());
        assertArrayEquals(new boolean[]{false, false}, config.slidingLayers());
        RotaryFrequencies f = RotaryFrequencies.of(config.rope(), config.rotaryDim());
        assertEquals(Math.sqrt(1 + Math.log(32) / Math.log(4096)), f.attentionScaling(), 1e-7);
        assertEquals(1f, f.invFreq()[0], 0f, "the first pair: 1 / (1 x theta^0)");
        assertEquals((float) (1 / (2.0 * Math.pow(1e4, 2.0 / 12))), f.invFreq()[1], 1e-7f);
    }

    @Test
    void firstGemmaCheckpointsTrainedWithTheTanhGeluTheirHiddenActivationNames() {
        ObjectNode c = base("gemma", 2).put("hidden_act", "gelu").put("hidden_activation", "gelu_pytorch_tanh");
        assertEquals(Activations.Kind.GELU_TANH, DecoderConfig.fromJson(c).hiddenAct());
        assertEquals(256, DecoderConfig.fromJson(base("gemma", 2)).headDim(), "Gemma's head_dim default");
    }

    /** MistralConfig's sliding_window is 4096 unless the config says otherwise; null switches it off. */
    @Test
    void mistralSlidesOver4096TokensWhereItsConfigIsSilent() {
        DecoderConfig silent = DecoderConfig.fromJson(base("mistral", 2));
        assertEquals(4096, silent.slidingWindowOf(0));
        assertEquals(4096, silent.slidingWindowOf(1));
        assertEquals(0, DecoderConfig.fromJson(base("mistral", 2).putNull("sliding_window")).slidingWindowOf(1));
        assertEquals(100, DecoderConfig.fromJson(base("mistral", 2).put("sliding_window", 100)).slidingWindowOf(1));
    }

    @Test
    void inconsistentConfigsAreRefusedNamingTheField() {
        ObjectNode types = base("gemma2", 2);
        types.putArray("layer_types").add("sliding_attention");
        assertMessage(types, "'layer_types' lists 1 layers, but num_hidden_layers is 2");
        ObjectNode unknown = base("gemma2", 1);
        unknown.putArray("layer_types").add("chunked_attention");
        assertMessage(unknown, "'layer_types'[0] = \"chunked_attention\" is not one of");
        ObjectNode noWindow = base("starcoder2", 1);
        noWindow.putArray("layer_types").add("sliding_attention");
        assertMessage(noWindow, "'sliding_window' is not set");
        ObjectNode lists = base("phi3", 1);
        lists.putObject("rope_scaling").put("type", "longrope").putArray("short_factor").add(1.0);
        assertMessage(lists, "rope_type longrope needs 'long_factor'");
        assertMessage(base("gemma3_text", 1).put("use_bidirectional_attention", true), "use_bidirectional_attention");
        assertMessage(base("phi3", 1).put("partial_rotary_factor", 0.01), "partial_rotary_factor");
    }

    private static void assertMessage(ObjectNode json, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(json));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void mixtralRoutesEveryLayerAndAlwaysRenormalisesItsTopK() {
        DecoderConfig c = DecoderConfig.fromJson(base("mixtral", 3).put("num_local_experts", 8));
        MoeConfig moe = c.moe();
        assertEquals(MoeConfig.Naming.MIXTRAL, moe.naming());
        assertEquals(8, moe.numExperts());
        assertEquals(2, moe.numExpertsPerTok(), "transformers' default");
        assertEquals(96, moe.expertIntermediateSize(), "Mixtral's experts are intermediate_size wide");
        assertTrue(moe.normTopkProb());
        assertArrayEquals(new boolean[]{true, true, true}, moe.sparseLayers());
        assertEquals(1e-5f, c.normEps());
        assertEquals(false, c.attentionBias());
        // per layer: attention 2 * 64 * 64 + 2 * 64 * 32, 8 experts of 3 * 64 * 96 and a router of 8 * 64
        long perLayer = 2L * 64 * 64 + 2L * 64 * 32 + 8L * (3L * 64 * 96 + 64);
        assertEquals(2L * 100 * 64 + 3 * perLayer, c.parameterCount());
    }

    @Test
    void qwen2MoeReadsItsSparseStepDenseLayersSharedExpertAndQkvBias() {
        ObjectNode json = base("qwen2_moe", 4).put("num_experts", 6).put("num_experts_per_tok", 3)
                .put("moe_intermediate_size", 16).put("shared_expert_intermediate_size", 40).put("decoder_sparse_step", 2);
        json.putArray("mlp_only_layers").add(3);
        DecoderConfig c = DecoderConfig.fromJson(json);
        MoeConfig moe = c.moe();
        assertEquals(MoeConfig.Naming.QWEN, moe.naming());
        assertArrayEquals(new boolean[]{false, true, false, false}, moe.sparseLayers(),
                "layers 1 and 3 by the step of 2, layer 3 dense by mlp_only_layers");
        assertEquals(false, moe.normTopkProb(), "norm_topk_prob is false by default");
        assertEquals(40, moe.sharedExpertIntermediateSize());
        assertTrue(c.attentionBias(), "qkv_bias is true by default");
        assertEquals(false, DecoderConfig.fromJson(json.put("qkv_bias", false)).attentionBias());
        assertEquals(DecoderConfig.QkNorm.NONE, c.qkNorm());
    }

    @Test
    void qwen3MoeNormalisesQueriesAndKeysAndReadsNormTopkProb() {
        DecoderConfig c = DecoderConfig.fromJson(base("qwen3_moe", 2).put("num_experts", 4)
                .put("moe_intermediate_size", 16).put("norm_topk_prob", true).put("output_router_logits", true)
                .put("router_aux_loss_coef", 0.01));
        assertEquals(DecoderConfig.QkNorm.PER_HEAD, c.qkNorm());
        assertTrue(c.moe().normTopkProb());
        assertEquals(0, c.moe().sharedExpertIntermediateSize());
        assertTrue(c.moe().outputRouterLogits());
        assertEquals(0.01f, c.moe().routerAuxLossCoef());
        assertEquals(null, DecoderConfig.fromJson(base("qwen3", 2)).moe(), "a dense family has no mixture");
    }

    /** openai/gpt-oss-20b's config.json as published (transformers 4.55's layout: rope_scaling beside rope_theta). */
    @Test
    void gptOss20bAsPublished() {
        ObjectNode json = JSON.createObjectNode();
        json.put("model_type", "gpt_oss").put("vocab_size", 201088).put("hidden_size", 2880)
                .put("intermediate_size", 2880).put("num_hidden_layers", 24).put("num_attention_heads", 64)
                .put("num_key_value_heads", 8).put("head_dim", 64).put("num_local_experts", 32)
                .put("num_experts_per_tok", 4).put("sliding_window", 128).put("rope_theta", 150000)
                .put("max_position_embeddings", 131072).put("swiglu_limit", 7.0).put("router_aux_loss_coef", 0.9)
                .put("rms_norm_eps", 1e-5).put("attention_bias", true).put("tie_word_embeddings", false);
        json.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 32.0).put("beta_fast", 32.0)
                .put("beta_slow", 1.0).put("original_max_position_embeddings", 4096).put("truncate", false);
        var types = json.putArray("layer_types");
        for (int i = 0; i < 24; i++) {
            types.add(i % 2 == 0 ? "sliding_attention" : "full_attention");
        }
        DecoderConfig c = DecoderConfig.fromJson(json);
        MoeConfig moe = c.moe();
        assertEquals(MoeConfig.Naming.GPT_OSS, moe.naming());
        assertTrue(moe.naming().stacked() && c.attentionSinks() && c.attentionBias());
        assertEquals(32, moe.numExperts());
        assertEquals(4, moe.numExpertsPerTok());
        assertEquals(2880, moe.expertIntermediateSize());
        assertTrue(moe.normTopkProb(), "a softmax over the k chosen logits is the renormalised top-k");
        assertEquals(7f, moe.swigluLimit());
        assertEquals(1.702f, moe.swigluAlpha());
        assertEquals(0.9f, moe.routerAuxLossCoef());
        assertEquals(128, c.slidingWindowOf(0));
        assertEquals(0, c.slidingWindowOf(1));
        assertEquals("yarn", c.rope().ropeType());
        assertEquals(false, c.rope().truncate());
        assertEquals(150000.0, c.rope().ropeTheta());
        // embeddings and head 2 * 201088 * 2880; per layer q/o 2 * 2880 * 4096, k/v 2 * 2880 * 512, 32 experts of
        // 3 * 2880 * 2880 and a router of 32 * 2880: 20.9 billion, the model card's count
        assertEquals(20_907_786_240L, c.parameterCount());
    }

    /** What transformers' GptOssConfig assumes for the fields a config.json leaves out. */
    @Test
    void gptOssDefaults() {
        DecoderConfig c = DecoderConfig.fromJson(base("gpt_oss", 3));
        assertEquals(64, c.headDim());
        assertEquals(128, c.moe().numExperts());
        assertEquals(4, c.moe().numExpertsPerTok());
        assertArrayEquals(new boolean[]{true, false, true}, c.slidingLayers(), "every other layer slides, the first too");
        assertEquals(128, c.slidingWindow());
        assertEquals(131072, c.maxPositionEmbeddings());
        assertEquals(1e-5f, c.normEps());
        assertTrue(c.attentionBias());
        RopeConfig rope = c.rope();
        assertEquals("yarn", rope.ropeType());
        assertEquals(32.0, rope.factor());
        assertEquals(4096, rope.originalMaxPositionEmbeddings());
        assertEquals(false, rope.truncate());
        assertEquals(150000.0, rope.ropeTheta());
        assertEquals(0.001f, c.moe().routerAuxLossCoef());
    }

    @Test
    void mixtureConfigsThatCannotBeRightAreRefusedNamingTheField() {
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(
                base("qwen3_moe", 2).put("num_experts", 4).put("num_experts_per_tok", 5).put("moe_intermediate_size", 16)));
        assertTrue(tooMany.getMessage().contains("num_experts_per_tok = 5"), tooMany.getMessage());
        ObjectNode badLayer = base("qwen2_moe", 2).put("moe_intermediate_size", 16);
        badLayer.putArray("mlp_only_layers").add(2);
        IllegalArgumentException outside = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(badLayer));
        assertTrue(outside.getMessage().contains("'mlp_only_layers' holds 2"), outside.getMessage());
        IllegalArgumentException huge = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(
                base("mixtral", 1000).put("num_local_experts", 100)));
        assertTrue(huge.getMessage().contains("100000 experts"), huge.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> DecoderConfig.fromJson(base("qwen3_moe", 2)));
        assertTrue(missing.getMessage().contains("moe_intermediate_size"), missing.getMessage());
    }

    @Test
    void theQwenMixturesReadEitherExpertCountKeyAndRefuseAnUnlistedSlidingWindow() {
        // transformers 5 saves Qwen3-MoE's num_experts as num_local_experts; hub configs say num_experts
        DecoderConfig v5 = DecoderConfig.fromJson(base("qwen3_moe", 2).put("num_local_experts", 5).put("moe_intermediate_size", 16));
        assertEquals(5, v5.moe().numExperts());
        IllegalArgumentException sliding = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(
                base("qwen2_moe", 2).put("moe_intermediate_size", 16).put("use_sliding_window", true).put("sliding_window", 8)));
        assertTrue(sliding.getMessage().contains("layer_types"), sliding.getMessage());
        ObjectNode listed = base("qwen2_moe", 2).put("moe_intermediate_size", 16).put("use_sliding_window", true)
                .put("sliding_window", 8);
        listed.putArray("layer_types").add("sliding_attention").add("full_attention");
        assertArrayEquals(new boolean[]{true, false}, DecoderConfig.fromJson(listed).slidingLayers());
    }

    @Test
    void graniteReadsItsFourMultipliersAndDefaultsThemToOne() {
        DecoderConfig c = DecoderConfig.fromJson(base("granite", 2).put("embedding_multiplier", 12.0)
                .put("residual_multiplier", 0.22).put("attention_multiplier", 0.0078125).put("logits_scaling", 16.0));
        assertEquals(new DecoderConfig.Multipliers(12f, 0.22f, 16f), c.multipliers());
        assertEquals(0.0078125f, c.attentionScale(), 0f, "attention_multiplier replaces 1 / sqrt(head_dim)");
        assertEquals(DecoderConfig.EmbeddingScale.INPUT, c.embeddingScale(), "inputs_embeds, virtual tokens too");
        assertEquals(DecoderConfig.NormPlacement.PRE, c.norms());
        DecoderConfig defaults = DecoderConfig.fromJson(base("granite", 2));
        assertEquals(DecoderConfig.Multipliers.NONE, defaults.multipliers());
        assertEquals(1f, defaults.attentionScale(), 0f, "GraniteConfig's attention_multiplier defaults to 1.0");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DecoderConfig.fromJson(base("granite", 2).put("logits_scaling", 0)));
        assertTrue(e.getMessage().contains("logits_scaling"), e.getMessage());
    }

    /**
     * Gemma's normalizer is a tensor of the table's dtype: sqrt(3072) = 55.4256 becomes bf16's 55.5 (its neighbours
     * 55.25 and 55.5 are 0.25 apart there); Granite's multiplier 12.1 stays 12.1 where bf16 would hold 12.125.
     */
    @Test
    void theEmbeddingFactorIsRoundedToABf16TableOnlyForGemma() {
        DecoderConfig gemma = DecoderConfig.fromJson(base("gemma3_text", 2).put("hidden_size", 3072).put("head_dim", 16));
        assertEquals((float) Math.sqrt(3072), gemma.embeddingFactor(DType.F32), 0f);
        assertEquals(55.5f, gemma.embeddingFactor(DType.BF16), 0f);
        DecoderConfig granite = DecoderConfig.fromJson(base("granite", 2).put("embedding_multiplier", 12.1));
        assertEquals(12.1f, granite.embeddingFactor(DType.BF16), 0f);
    }

    /** GlmConfig's and Glm4Config's defaults: half of each 128-wide head rotates in adjacent pairs. */
    @Test
    void glmRotatesHalfOfEachHeadInAdjacentPairsWithBiasesOnQueriesKeysAndValuesOnly() {
        for (String type : new String[]{"glm", "glm4"}) {
            ObjectNode json = base(type, 2);
            json.remove("num_key_value_heads");
            DecoderConfig c = DecoderConfig.fromJson(json);
            assertEquals(128, c.headDim(), type);
            assertEquals(64, c.rotaryDim(), type + ": partial_rotary_factor 0.5 by default");
            assertEquals(RotaryLayout.INTERLEAVED, c.rotaryLayout(), type);
            assertEquals(2, c.numKeyValueHeads(), type);
            assertTrue(c.attentionBias() && !c.outputBias(), type + ": q, k, v biased, o_proj not");
            assertEquals(1.5625e-7f, c.normEps(), type);
            assertEquals(DenseMlp.GATE_UP, c.denseMlp(), type);
            ObjectNode quarter = base(type, 2).put("head_dim", 64);
            quarter.putObject("rope_parameters").put("partial_rotary_factor", 0.25);
            assertEquals(16, DecoderConfig.fromJson(quarter).rotaryDim(), type + ": transformers 5's rope_parameters");
        }
        assertEquals(new DecoderConfig.LayerNormNames("input_layernorm", null, "post_attention_layernorm", null),
                DecoderConfig.fromJson(base("glm", 2)).normNames());
        assertEquals(new DecoderConfig.LayerNormNames("input_layernorm", "post_self_attn_layernorm",
                "post_attention_layernorm", "post_mlp_layernorm"), DecoderConfig.fromJson(base("glm4", 2)).normNames(),
                "GLM-4's post_attention_layernorm is the MLP's input norm");
    }

    /** Ernie4_5Config: one use_bias switch for all seven projections, tied embeddings, adjacent pairs. */
    @Test
    void ernieBiasesEveryProjectionWithOneSwitch() {
        DecoderConfig c = DecoderConfig.fromJson(base("ernie4_5", 2).put("use_bias", true));
        assertTrue(c.attentionBias() && c.outputBias() && c.mlpBias());
        assertEquals(RotaryLayout.INTERLEAVED, c.rotaryLayout());
        assertEquals(c.headDim(), c.rotaryDim(), "the whole head rotates");
        DecoderConfig defaults = DecoderConfig.fromJson(base("ernie4_5", 2));
        assertTrue(!defaults.attentionBias() && !defaults.mlpBias() && defaults.tieWordEmbeddings());
        assertEquals(1e-5f, defaults.normEps());
    }

    /**
     * Cohere: LayerNorms read from layer_norm_eps, parallel sub-blocks, logits times logit_scale; Cohere 2 rotates in
     * its sliding layers only, three of four by default, and its heads are always hidden_size / heads wide.
     */
    @Test
    void cohereRunsParallelSubBlocksUnderLayerNormsAndScalesItsLogits() {
        DecoderConfig c = DecoderConfig.fromJson(base("cohere", 2).put("logit_scale", 0.125).put("layer_norm_eps", 1e-4));
        assertEquals(DecoderConfig.NormKind.LAYER_WITHOUT_BIAS, c.normKind());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(DecoderConfig.NormPlacement.PARALLEL, c.norms());
        assertEquals(new DecoderConfig.LayerNormNames("input_layernorm", null, null, null), c.normNames());
        assertEquals(1e-4f, c.normEps());
        assertEquals(8f, c.multipliers().logitsScaling(), 0f, "the divisor 1 / logit_scale");
        assertEquals(16f, DecoderConfig.fromJson(base("cohere", 2)).multipliers().logitsScaling(), 0f,
                "CohereConfig's logit_scale 0.0625");
        assertEquals(DecoderConfig.QkNorm.NONE, c.qkNorm());
        assertEquals(DecoderConfig.QkNorm.PER_HEAD_LAYER,
                DecoderConfig.fromJson(base("cohere", 2).put("use_qk_norm", true)).qkNorm(), "Command R+");

        DecoderConfig r7b = DecoderConfig.fromJson(base("cohere2", 8).put("head_dim", 32));
        boolean[] threeOfFour = {true, true, true, false, true, true, true, false};
        assertArrayEquals(threeOfFour, r7b.slidingLayers());
        assertArrayEquals(threeOfFour, r7b.ropeLayers(), "the full-attention layers have no position encoding");
        assertEquals(4096, r7b.slidingWindowOf(0));
        assertEquals(16, r7b.headDim(), "Cohere2Config overwrites head_dim");
        assertEquals(RotaryLayout.INTERLEAVED, r7b.rotaryLayout());
    }

    /**
     * EXAONE 4: a window on three layers of four, its full layers without rotary; with {@code sliding_window} null
     * (EXAONE 4.0 1.2B) no layer slides and every layer rotates.
     */
    @Test
    void exaone4RotatesOnlyItsSlidingLayersWhenItHasAWindow() {
        DecoderConfig windowed = DecoderConfig.fromJson(base("exaone4", 4));
        boolean[] threeOfFour = {true, true, true, false};
        assertArrayEquals(threeOfFour, windowed.slidingLayers());
        assertArrayEquals(threeOfFour, windowed.ropeLayers());
        assertEquals(4096, windowed.slidingWindowOf(0), "Exaone4Config's sliding_window");
        assertEquals(DecoderConfig.NormPlacement.POST, windowed.norms());
        assertEquals(DecoderConfig.QkNorm.PER_HEAD, windowed.qkNorm());
        DecoderConfig full = DecoderConfig.fromJson(base("exaone4", 4).putNull("sliding_window"));
        assertArrayEquals(new boolean[4], full.slidingLayers());
        assertArrayEquals(new boolean[]{true, true, true, true}, full.ropeLayers());
    }

    /**
     * LFM2: attention where {@code full_attn_idxs} says (without layer_types), the MLP's width as Lfm2MLP rewrites it
     * (LFM2-350M's block_ff_dim 6656: two thirds, times 1.0, rounded up to 256: 4608), the older tie_embedding key.
     */
    @Test
    void lfm2ReadsItsLayerPatternMlpWidthAndOlderKeys() {
        ObjectNode json = base("lfm2", 6).put("block_ff_dim", 6656).put("tie_embedding", false);
        json.remove("intermediate_size");
        json.putArray("full_attn_idxs").add(2).add(5);
        DecoderConfig c = DecoderConfig.fromJson(json);
        assertArrayEquals(new boolean[]{true, true, false, true, true, false}, c.shortConv().layers());
        assertEquals(4608, c.intermediateSize());
        assertTrue(!c.tieWordEmbeddings() && c.hasRecurrentLayers());
        assertEquals(3, c.shortConv().kernel());
        assertEquals(new DecoderConfig.AttentionNames("out_proj", "q_layernorm", "k_layernorm"), c.attentionNames());
        assertEquals("embedding_norm", c.finalNorm());
        assertEquals(DenseMlp.LFM2, c.denseMlp());
        ObjectNode exact = base("lfm2", 2).put("block_auto_adjust_ff_dim", false);
        assertEquals(96, DecoderConfig.fromJson(exact).intermediateSize(), "no adjustment: intermediate_size as it is");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DecoderConfig.fromJson(base("lfm2", 2).set("full_attn_idxs", JSON.createArrayNode().add(7))));
        assertTrue(e.getMessage().contains("full_attn_idxs"), e.getMessage());
    }

    /**
     * LFM2-MoE: LFM2's layers, dense MLPs of intermediate_size (not rewritten) in the first num_dense_layers and a
     * sigmoid-scored mixture after them, picked with the expert bias, renormalised and scaled.
     */
    @Test
    void lfm2MoeRoutesBySigmoidsAfterItsDenseLayers() {
        ObjectNode json = base("lfm2_moe", 4).put("num_dense_layers", 1).put("num_experts", 8)
                .put("moe_intermediate_size", 24).put("routed_scaling_factor", 2.5);
        json.putArray("layer_types").add("conv").add("full_attention").add("conv").add("conv");
        DecoderConfig c = DecoderConfig.fromJson(json);
        assertEquals(96, c.intermediateSize(), "intermediate_size as it is");
        assertArrayEquals(new boolean[]{false, true, true, true}, new boolean[]{c.isSparse(0), c.isSparse(1),
                c.isSparse(2), c.isSparse(3)});
        MoeConfig moe = c.moe();
        assertEquals(MoeConfig.Naming.LFM2, moe.naming());
        assertEquals(24, moe.expertIntermediateSize());
        assertEquals(4, moe.numExpertsPerTok(), "Lfm2MoeConfig's default");
        assertTrue(moe.normTopkProb(), "norm_topk_prob true by default");
        assertEquals(new MoeConfig.Routing(true, MoeConfig.SelectionBias.BLOCK, 1, 1, MoeConfig.GroupScore.TOP_TWO_SUM, 1e-6f, 2.5f, false), moe.routing());
        assertTrue(c.isShortConv(0) && !c.isShortConv(1) && c.hasRecurrentLayers());
        assertEquals("embedding_norm", c.finalNorm());
    }

    @Test
    void olmoNormalisesAfterEachSubBlockAndQueriesAcrossHeads() {
        for (String type : new String[]{"olmo2", "olmo3"}) {
            DecoderConfig c = DecoderConfig.fromJson(base(type, 8));
            assertEquals(DecoderConfig.NormPlacement.POST, c.norms(), type);
            assertEquals(DecoderConfig.QkNorm.ACROSS_HEADS, c.qkNorm(), type);
            assertEquals(1e-5f, c.normEps(), type + ": Olmo2Config's rms_norm_eps");
            assertEquals(false, c.tieWordEmbeddings(), type);
        }
        DecoderConfig olmo3 = DecoderConfig.fromJson(base("olmo3", 8));
        assertArrayEquals(new boolean[]{true, true, true, false, true, true, true, false}, olmo3.slidingLayers(),
                "three sliding layers of four");
        assertEquals(4096, olmo3.slidingWindowOf(0), "Olmo3Config's sliding_window");
        assertArrayEquals(new boolean[8], DecoderConfig.fromJson(base("olmo2", 8)).slidingLayers());
        ObjectNode flat = base("olmo3", 4).put("rope_theta", 1e6);
        flat.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 8.0)
                .put("original_max_position_embeddings", 8192);
        DecoderConfig legacy = DecoderConfig.fromJson(flat);
        assertEquals("yarn", legacy.rope().ropeType(), "a flat config's scaling is the full layers'");
        assertEquals(1e6, legacy.rope().ropeTheta());
        assertEquals("default", legacy.localRope().ropeType(), "sliding layers rotate unscaled");
        assertEquals(500_000.0, legacy.localRope().ropeTheta(), "with Olmo3Config's default theta, as transformers 5.17");
    }

    @Test
    void smolLm3LeavesEveryFourthLayerUnrotatedUnlessListedOtherwise() {
        DecoderConfig c = DecoderConfig.fromJson(base("smollm3", 8));
        assertArrayEquals(new boolean[]{true, true, true, false, true, true, true, false}, c.ropeLayers());
        assertEquals(2_000_000.0, c.rope().ropeTheta(), "SmolLM3Config's default theta");
        assertTrue(c.tieWordEmbeddings(), "SmolLM3 ties its embeddings by default");
        assertArrayEquals(new boolean[8], c.slidingLayers(), "no window without use_sliding_window");
        ObjectNode listed = base("smollm3", 3);
        listed.putArray("no_rope_layers").add(0).add(1).add(1).add(0);
        assertArrayEquals(new boolean[]{false, true, true}, DecoderConfig.fromJson(listed).ropeLayers(),
                "a longer list is read up to num_hidden_layers, as transformers indexes it");
        ObjectNode sliding = base("smollm3", 4).put("use_sliding_window", true).put("sliding_window", 16)
                .put("no_rope_layer_interval", 2);
        assertArrayEquals(new boolean[]{false, true, false, true}, DecoderConfig.fromJson(sliding).slidingLayers(),
                "only the layers without rotary slide");
        ObjectNode bad = base("smollm3", 2);
        bad.putArray("no_rope_layers").add(1).add(2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(bad));
        assertTrue(e.getMessage().contains("'no_rope_layers'[1] = 2"), e.getMessage());
        ObjectNode shortList = base("smollm3", 3);
        shortList.putArray("no_rope_layers").add(1);
        e = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(shortList));
        assertTrue(e.getMessage().contains("num_hidden_layers is 3"), e.getMessage());
        assertArrayEquals(new boolean[]{true, true, true, true}, DecoderConfig.fromJson(base("llama", 4)).ropeLayers(),
                "other families rotate every layer");
    }

    @Test
    void olmoeRoutesEveryLayerWithItsDefaultsAndRefusesClippedQkv() {
        // allenai/OLMoE-1B-7B-0924's shape: the model card's 6.9 billion parameters (1.3 billion active)
        ObjectNode json = JSON.createObjectNode().put("model_type", "olmoe").put("vocab_size", 50304)
                .put("hidden_size", 2048).put("intermediate_size", 1024).put("num_hidden_layers", 16)
                .put("num_attention_heads", 16).put("num_key_value_heads", 16).putNull("clip_qkv");
        DecoderConfig c = DecoderConfig.fromJson(json);
        MoeConfig moe = c.moe();
        assertEquals(64, moe.numExperts());
        assertEquals(8, moe.numExpertsPerTok());
        assertEquals(1024, moe.expertIntermediateSize(), "the experts are intermediate_size wide");
        assertEquals(false, moe.normTopkProb());
        assertEquals(0.01f, moe.routerAuxLossCoef(), "OlmoeConfig's router_aux_loss_coef");
        assertArrayEquals(filled(16), moe.sparseLayers(), "every layer routes");
        assertEquals(MoeConfig.Naming.QWEN, moe.naming(), "mlp.gate and mlp.experts.E.gate_proj, as the hub stores them");
        assertEquals(DecoderConfig.QkNorm.ACROSS_HEADS, c.qkNorm());
        assertEquals(DecoderConfig.NormPlacement.PRE, c.norms());
        assertEquals(1e-5f, c.normEps());
        assertEquals(6.9, c.parameterCount() / 1e9, 0.05);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DecoderConfig.fromJson(json.deepCopy().put("clip_qkv", 8.0)));
        assertTrue(e.getMessage().contains("clip_qkv = 8.0"), e.getMessage());
    }

    private static boolean[] filled(int n) {
        boolean[] all = new boolean[n];
        Arrays.fill(all, true);
        return all;
    }

    @Test
    void graniteFourLoadsItsDenseHybridAndMixtureModels() {
        ObjectNode json = base("granitemoehybrid", 2).put("shared_intermediate_size", 80).put("num_local_experts", 0)
                .put("embedding_multiplier", 12.0).put("residual_multiplier", 0.22).put("attention_multiplier", 0.0078125)
                .put("logits_scaling", 16.0).put("position_embedding_type", "rope");
        json.putArray("layer_types").add("attention").add("full_attention");
        DecoderConfig c = DecoderConfig.fromJson(json);
        assertEquals(80, c.intermediateSize(), "the dense MLP is shared_intermediate_size wide");
        assertEquals(null, c.moe(), "no mixture");
        assertEquals(null, c.mamba(), "attention only");
        assertEquals(DenseMlp.GRANITE_SHARED, c.denseMlp());
        assertEquals(new DecoderConfig.Multipliers(12f, 0.22f, 16f), c.multipliers());
        assertEquals(0.0078125f, c.attentionScale(), 0f);
        assertArrayEquals(new boolean[]{true, true}, c.ropeLayers());
        assertArrayEquals(new boolean[2], DecoderConfig.fromJson(json.deepCopy().putNull("position_embedding_type"))
                .ropeLayers(), "no position encoding at all by default");
        assertArrayEquals(new boolean[2], DecoderConfig.fromJson(json.deepCopy().put("position_embedding_type", "nope"))
                .ropeLayers(), "nor with \"nope\"");

        ObjectNode hybrid = json.deepCopy().put("mamba_n_heads", 8).put("mamba_d_state", 16).put("mamba_n_groups", 2);
        hybrid.putArray("layer_types").add("mamba").add("attention");
        MambaConfig mamba = DecoderConfig.fromJson(hybrid).mamba();
        assertArrayEquals(new boolean[]{true, false}, mamba.layers());
        // hidden 64, mamba_expand 2 by default: 8 heads of 16 ("auto"), the convolution over x, B and C
        assertEquals(16, mamba.headDim());
        assertEquals(128 + 2 * 2 * 16, mamba.convDim());
        assertEquals(128 + mamba.convDim() + 8, mamba.projectionDim());
        assertEquals(true, mamba.convBias());
        ObjectNode untyped = hybrid.deepCopy();
        untyped.remove("layer_types");
        assertArrayEquals(new boolean[]{true, true}, DecoderConfig.fromJson(untyped).mamba().layers(),
                "Mamba-2 throughout without layer_types, as transformers' default");
        assertRefused(hybrid.deepCopy().put("mamba_d_head", 6), "mamba_n_heads 8 x mamba_d_head 6 must be");
        assertRefused(hybrid.deepCopy().put("mamba_n_groups", 3), "mamba_n_groups 3 must divide");
        ObjectNode savedLimit = hybrid.deepCopy();
        savedLimit.putArray("time_step_limit").add(0.0).addObject().put("__float__", "Infinity");
        assertEquals(8, DecoderConfig.fromJson(savedLimit).mamba().numHeads(), "the default limit as save_pretrained writes it");
        ObjectNode clamped = hybrid.deepCopy();
        clamped.putArray("time_step_limit").add(0.001).add(0.1);
        assertRefused(clamped, "time_step_limit");
        ObjectNode experts = hybrid.deepCopy();
        experts.remove("num_local_experts");
        DecoderConfig mixture = DecoderConfig.fromJson(experts);
        assertEquals(MoeConfig.Naming.GRANITE, mixture.moe().naming(), "8 experts by default, as transformers");
        assertEquals(8, mixture.moe().numExperts());
        assertEquals(2, mixture.moe().numExpertsPerTok());
        assertEquals(96, mixture.moe().expertIntermediateSize(), "the experts are intermediate_size wide");
        assertEquals(80, mixture.intermediateSize(), "the shared MLP keeps shared_intermediate_size");
        assertTrue(mixture.isSparse(0) && mixture.isSparse(1) && mixture.sharedMlpBesideExperts());
        assertRefused(json.deepCopy().put("position_embedding_type", "alibi"), "position_embedding_type");
    }

    @Test
    void graniteThreesMixturesRouteEveryLayerAndRotate() {
        ObjectNode json = base("granitemoe", 2).put("num_local_experts", 4).put("num_experts_per_tok", 2)
                .put("intermediate_size", 32).put("residual_multiplier", 0.22);
        DecoderConfig moe = DecoderConfig.fromJson(json);
        assertEquals(MoeConfig.Naming.GRANITE, moe.moe().naming());
        assertTrue(moe.isSparse(0) && moe.isSparse(1) && !moe.sharedMlpBesideExperts(), "no shared MLP in granitemoe");
        assertArrayEquals(new boolean[]{true, true}, moe.ropeLayers(), "Granite 3 always rotates");
        assertEquals(0.22f, moe.multipliers().residual(), 0f);
        DecoderConfig shared = DecoderConfig.fromJson(json.deepCopy().put("model_type", "granitemoeshared")
                .put("shared_intermediate_size", 48));
        assertTrue(shared.sharedMlpBesideExperts());
        assertEquals(48, shared.intermediateSize(), "the shared MLP is shared_intermediate_size wide");
        assertEquals(32, shared.moe().expertIntermediateSize());
        DecoderConfig unshared = DecoderConfig.fromJson(json.deepCopy().put("model_type", "granitemoeshared")
                .put("shared_intermediate_size", 0));
        assertTrue(!unshared.sharedMlpBesideExperts(), "shared_intermediate_size 0 (the class default): no shared MLP");
    }

    /**
     * Falcon-H1: FalconH1Config's defaults (mamba_d_head "auto" over mamba_d_ssm, the multipliers 1, no gated norm,
     * projectors_bias for out_proj alone), what the published configs add, and what finetune4j refuses: the original
     * code's keys for another layer layout, a convolution other than SiLU's, clamped time steps, and multipliers that
     * are not positive finite numbers.
     */
    @Test
    void falconH1ReadsItsMultipliersAndRefusesWhatItCannotHonour() {
        ObjectNode json = base("falcon_h1", 2).put("mamba_n_heads", 4).put("mamba_d_state", 8).put("head_dim", 32);
        DecoderConfig plain = DecoderConfig.fromJson(json);
        MambaConfig mamba = plain.mamba();
        assertEquals(32, mamba.headDim(), "mamba_expand 2 x hidden 64 over 4 heads without mamba_d_ssm");
        assertEquals(MambaConfig.GatedNorm.NONE, mamba.gatedNorm(), "mamba_rms_norm false by default");
        assertTrue(!plain.isMamba(0) && plain.hasRecurrentLayers(), "every layer attends, its mixer beside");
        assertEquals(new ParallelHybridConfig(1f, 1f, 1f, 1f, 1f, 1f), plain.parallelHybrid());
        assertEquals(1e-5f, plain.normEps(), 0f);
        assertEquals(DenseMlp.FALCON_H1, plain.denseMlp());
        assertEquals("final_layernorm", plain.finalNorm());
        assertEquals("pre_ff_layernorm", plain.normNames().mlpInput());
        assertEquals(DecoderConfig.EmbeddingScale.TOKENS, plain.embeddingScale());

        ObjectNode published = json.deepCopy().put("mamba_d_ssm", 48).put("mamba_d_head", "auto")
                .put("mamba_rms_norm", true).put("mamba_norm_before_gate", false).put("mamba_n_groups", 2)
                .put("projectors_bias", true).put("embedding_multiplier", 5.5).put("lm_head_multiplier", 0.0390625)
                .put("key_multiplier", 0.39).put("attention_in_multiplier", 1.5).put("attention_out_multiplier", 0.9375)
                .put("ssm_in_multiplier", 1.25).put("ssm_out_multiplier", 0.23).putNull("attn_layer_indices")
                .put("mamba_use_mlp", true);
        published.putArray("mlp_multipliers").add(0.88).add(0.59);
        published.putArray("ssm_multipliers").add(0.35).add(0.25).add(0.35).add(0.5).add(0.35);
        DecoderConfig c = DecoderConfig.fromJson(published);
        assertEquals(12, c.mamba().headDim(), "mamba_d_ssm 48 over 4 heads");
        assertEquals(MambaConfig.GatedNorm.GATE_THEN_GROUP_NORM, c.mamba().gatedNorm());
        assertTrue(c.mamba().outProjBias() && !c.mamba().projBias(), "projectors_bias is out_proj's alone");
        assertArrayEquals(new float[]{0.35f, 0.25f, 0.35f, 0.5f, 0.35f}, c.mamba().projectionMultipliers());
        assertEquals(1.25f, c.mamba().inputMultiplier(), 0f);
        assertEquals(new ParallelHybridConfig(1.5f, 0.9375f, 0.23f, 0.39f, 0.88f, 0.59f), c.parallelHybrid());
        assertEquals(new DecoderConfig.Multipliers(5.5f, 1f, 25.6f), c.multipliers(), "the logits divided by 1 / 0.0390625");
        assertEquals(MambaConfig.GatedNorm.GROUP_NORM_THEN_GATE,
                DecoderConfig.fromJson(withoutKey(published, "mamba_norm_before_gate")).mamba().gatedNorm(),
                "the norm before the gate by default");

        assertRefused(published.deepCopy().put("mamba_d_ssm", 50), "mamba_n_heads 4 must divide mamba_d_ssm = 50");
        assertRefused(published.deepCopy().put("mamba_d_head", 10), "mamba_n_heads 4 x mamba_d_head 10 must be mamba_d_ssm = 48");
        ObjectNode someAttention = published.deepCopy();
        someAttention.putArray("attn_layer_indices").add(0);
        assertRefused(someAttention, "attn_layer_indices");
        assertRefused(published.deepCopy().put("mamba_use_mlp", false), "mamba_use_mlp = false");
        assertRefused(published.deepCopy().put("hidden_act", "gelu"), "hidden_act = \"gelu\" is not supported for falcon_h1");
        ObjectNode clamped = published.deepCopy();
        clamped.putArray("time_step_limit").add(0.001).add(0.1);
        assertRefused(clamped, "time_step_limit");
        assertRefused(published.deepCopy().put("key_multiplier", -0.5), "key_multiplier = -0.5 must be a positive finite");
        assertRefused(published.deepCopy().put("ssm_out_multiplier", 0.0), "ssm_out_multiplier = 0.0 must be a positive");
        assertRefused(published.deepCopy().put("ssm_in_multiplier", "NaN"), "'ssm_in_multiplier' = \"NaN\" must be a finite");
        assertRefused(published.deepCopy().put("lm_head_multiplier", 0), "'lm_head_multiplier' = 0 must be a finite number > 0");
        ObjectNode infinite = published.deepCopy();
        infinite.putArray("ssm_multipliers").add(1).add(1).add(1e300).add(1).add(1);
        assertRefused(infinite, "ssm_multipliers[2] (B) = Infinity must be a positive finite number");
        ObjectNode shortList = published.deepCopy();
        shortList.putArray("mlp_multipliers").add(1.0);
        assertRefused(shortList, "'mlp_multipliers' = [1.0] must be a list of 2 numbers");
        ObjectNode text = published.deepCopy();
        text.putArray("ssm_multipliers").add(1).add(1).add("x").add(1).add(1);
        assertRefused(text, "'ssm_multipliers'[2] = \"x\" must be a finite number");
        assertRefused(published.deepCopy().put("mamba_n_heads", -4), "'mamba_n_heads' = -4 must be an integer in [1,");
    }

    /**
     * Nemotron-H as NemotronHConfig fills it (checked in transformers 5.17): with neither layers_block_type nor
     * hybrid_override_pattern the pattern is Mamba-2, mixture, attention, MLP, the mixture 8 gateless experts of 7,688
     * of which 2 per token by GLM-4.5's sigmoid router, beside a shared expert of 7,688; the older
     * mamba_* keys under their new names; an empty config's sizes (hidden 4,096, 32 heads of 128 over 8, MLPs of 21,504,
     * 128 Mamba-2 heads of 64 in 8 groups with states of 128, time steps at least 0.001); relu2, eps 1e-5, no rotary,
     * no padding row; the layer count the pattern's, whatever num_hidden_layers says; the names checkpoints use.
     */
    @Test
    void nemotronHReadsItsLayerPatternAndDefaults() {
        ObjectNode json = JSON.createObjectNode().put("model_type", "nemotron_h").put("num_hidden_layers", 52)
                .put("hybrid_override_pattern", "M-*M");
        DecoderConfig c = DecoderConfig.fromJson(json);
        assertEquals(4, c.numHiddenLayers(), "the pattern's length, num_hidden_layers ignored as transformers does");
        assertArrayEquals(new BlockPattern.Kind[]{BlockPattern.Kind.MAMBA, BlockPattern.Kind.MLP,
                BlockPattern.Kind.ATTENTION, BlockPattern.Kind.MAMBA}, c.blockPattern().kinds());
        assertTrue(c.isMamba(0) && !c.isMamba(1) && !c.isMamba(2) && c.isMamba(3));
        assertEquals(131072, c.vocabSize());
        assertEquals(4096, c.hiddenSize());
        assertEquals(21504, c.intermediateSize());
        assertEquals(32, c.numAttentionHeads());
        assertEquals(8, c.numKeyValueHeads());
        assertEquals(128, c.headDim());
        assertEquals(4096, c.maxPositionEmbeddings());
        assertEquals(1e-5f, c.normEps());
        assertEquals(Activations.Kind.RELU2, c.hiddenAct());
        assertEquals(DenseMlp.NEMOTRON_H, c.denseMlp());
        assertFalse(c.tieWordEmbeddings() || c.attentionBias() || c.mlpBias());
        assertEquals(-1, c.paddingRow(), "no padding_idx: pad_token_id 0 still learns");
        assertFalse(c.ropeLayers()[2], "the attention has no position encoding");
        assertEquals(0, c.slidingWindowOf(2));
        assertNull(c.moe());
        MambaConfig mamba = c.mamba();
        assertEquals(128, mamba.numHeads());
        assertEquals(64, mamba.headDim());
        assertEquals(8192, mamba.innerDim(), "mamba_num_heads x mamba_head_dim, not expand x hidden_size");
        assertEquals(128, mamba.stateSize());
        assertEquals(8, mamba.numGroups());
        assertEquals(4, mamba.convKernel());
        assertTrue(mamba.convBias() && !mamba.projBias() && !mamba.outProjBias());
        assertEquals(MambaConfig.GatedNorm.GATE_THEN_GROUP_NORM, mamba.gatedNorm());
        assertEquals(0.001f, mamba.timeStepFloor());
        assertEquals("norm_f", c.finalNorm());
        assertEquals("embeddings", c.embeddingsName());
        assertEquals(new DecoderConfig.LayerNormNames("norm", null, null, null), c.normNames(0));
        assertEquals(new DecoderConfig.LayerNormNames(null, null, "norm", null), c.normNames(1));

        ObjectNode older = json.deepCopy().put("mamba_n_groups", 2).put("n_groups", 4).put("mamba_d_conv", 3)
                .put("mamba_conv_bias", false).put("mamba_dt_min", 0.01).put("use_bias", true)
                .put("mamba_num_heads", 16).put("mamba_head_dim", 8).put("ssm_state_size", 16);
        older.remove("hybrid_override_pattern");
        older.putArray("layers_block_type").add("mamba").add("attention").add("mlp");
        DecoderConfig renamed = DecoderConfig.fromJson(older);
        assertEquals(3, renamed.numHiddenLayers());
        assertTrue(renamed.isMamba(0) && !renamed.isMamba(1));
        assertEquals(2, renamed.mamba().numGroups(), "the older key wins, as in NemotronHConfig");
        assertEquals(3, renamed.mamba().convKernel());
        assertFalse(renamed.mamba().convBias());
        assertEquals(0.01f, renamed.mamba().timeStepFloor());
        assertTrue(renamed.mamba().projBias() && renamed.mamba().outProjBias(), "use_bias: in_proj's and out_proj's");
        ObjectNode both = older.deepCopy().put("hybrid_override_pattern", "M-M-*");
        both.putArray("layers_block_type").add("linear_attention").add("full_attention").add("mlp");
        assertEquals(3, DecoderConfig.fromJson(both).numHiddenLayers(), "layers_block_type before the pattern");

        DecoderConfig mixture = DecoderConfig.fromJson(JSON.createObjectNode().put("model_type", "nemotron_h"));
        assertArrayEquals(new BlockPattern.Kind[]{BlockPattern.Kind.MAMBA, BlockPattern.Kind.MOE,
                BlockPattern.Kind.ATTENTION, BlockPattern.Kind.MLP}, mixture.blockPattern().kinds());
        assertTrue(mixture.isSparse(1) && !mixture.isSparse(3));
        MoeConfig moe = mixture.moe();
        assertEquals(MoeConfig.Naming.NEMOTRON_H, moe.naming());
        assertEquals(8, moe.numExperts());
        assertEquals(2, moe.numExpertsPerTok());
        assertEquals(7688, moe.expertIntermediateSize());
        assertEquals(7688, moe.sharedExpertIntermediateSize());
        assertFalse(moe.sharedExpertGated());
        assertTrue(moe.normTopkProb());
        assertEquals(new MoeConfig.Routing(true, MoeConfig.SelectionBias.ROUTER, 1, 1, MoeConfig.GroupScore.TOP_TWO_SUM,
                1e-20f, 1f, true), moe.routing());
        ObjectNode grouped = json.deepCopy().put("hybrid_override_pattern", "M-E*").put("n_routed_experts", 16)
                .put("num_experts_per_tok", 4).put("n_group", 4).put("topk_group", 2).put("routed_scaling_factor", 2.5)
                .put("moe_intermediate_size", 24).put("moe_shared_expert_intermediate_size", 40)
                .put("n_shared_experts", 3);
        MoeConfig routed = DecoderConfig.fromJson(grouped).moe();
        assertEquals(new MoeConfig.Routing(true, MoeConfig.SelectionBias.ROUTER, 4, 2, MoeConfig.GroupScore.TOP_TWO_SUM,
                1e-20f, 2.5f, true), routed.routing());
        assertEquals(40, routed.sharedExpertIntermediateSize(), "its own width, whatever n_shared_experts says");
        assertRefused(grouped.deepCopy().put("moe_latent_size", 16), "moe_latent_size = 16 is not supported");
        assertRefused(json.deepCopy().put("hybrid_override_pattern", "M-x*"), "holds 'x' at 2");
        assertRefused(json.deepCopy().put("hybrid_override_pattern", ""), "hybrid_override_pattern lists 0 layers");
        assertRefused(json.deepCopy().put("tie_word_embeddings", true), "tie_word_embeddings = true is not supported");
        assertRefused(json.deepCopy().put("mamba_hidden_act", "gelu"), "mamba_hidden_act = \"gelu\"");
        assertRefused(json.deepCopy().put("n_groups", 3), "n_groups 3 must divide mamba_num_heads 128");
        assertRefused(json.deepCopy().put("time_step_min", -1), "'time_step_min' = -1");
        ObjectNode unknown = json.deepCopy();
        unknown.putArray("layers_block_type").add("mamba").add("conv");
        assertRefused(unknown, "'layers_block_type'[1] = \"conv\" is not one of");
    }

    /**
     * Gemma 4 as Gemma4TextConfig fills it (checked in transformers 5.17): every sixth layer full and the last forced
     * full, heads of 256 over 4 key/value heads and 512 on the full layers (global_head_dim), no score scale, the
     * sliding layers' rotary at theta 10,000 and the full ones' proportional over a quarter of the pairs at 1,000,000,
     * per-layer inputs of 256 over 262,144 tokens, weights read as they are (not 1 + w), tied embeddings.
     */
    @Test
    void gemma4DefaultsAreGemma4TextConfigs() {
        ObjectNode json = JSON.createObjectNode().put("model_type", "gemma4_text").put("num_hidden_layers", 8);
        DecoderConfig c = DecoderConfig.fromJson(json);
        assertArrayEquals(new boolean[]{true, true, true, true, true, false, true, false}, c.slidingLayers(),
                "(i + 1) % 6 == 0 full, and the last one");
        assertEquals(256, c.layerShapes().headDim(0));
        assertEquals(512, c.layerShapes().headDim(5));
        assertEquals(4, c.layerShapes().keyValueHeads(5), "num_global_key_value_heads applies only with attention_k_eq_v");
        assertEquals(512, c.slidingWindowOf(0));
        assertEquals(1f, c.attentionScale());
        assertEquals("proportional", c.rope().ropeType());
        assertEquals(1e6, c.rope().ropeTheta());
        assertEquals(0.25, c.rope().rotatedFraction());
        assertEquals("default", c.localRope().ropeType());
        assertEquals(1e4, c.localRope().ropeTheta());
        assertEquals(256, c.gemma4().perLayerInputSize());
        assertEquals(262_144, c.gemma4().perLayerVocabSize());
        assertFalse(c.gemmaNorms());
        assertEquals(DecoderConfig.QkNorm.PER_HEAD, c.qkNorm());
        assertEquals(DecoderConfig.EmbeddingScale.TOKENS, c.embeddingScale());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(0, c.paddingRow());
        assertEquals(0f, c.finalLogitSoftcapping());
    }

    /**
     * The hub's form (global_head_dim, num_global_key_value_heads) and transformers 5.17's saved per_layer_config give
     * the same full layers; k_eq_v drops their v_proj; the last num_kv_shared_layers read the last earlier layer of
     * their type and, with use_double_wide_mlp, have MLPs twice as wide.
     */
    @Test
    void gemma4FullLayersTakeTheirShapeFromEitherFormAndSharedLayersTheirSource() {
        ObjectNode hub = base("gemma4_text", 5).put("head_dim", 16).put("global_head_dim", 32)
                .put("num_global_key_value_heads", 1).put("attention_k_eq_v", true).put("num_kv_shared_layers", 2)
                .put("use_double_wide_mlp", true).put("hidden_size_per_layer_input", 0);
        hub.putArray("layer_types").add("sliding_attention").add("full_attention").add("sliding_attention")
                .add("sliding_attention").add("full_attention");
        ObjectNode saved = withoutKey(withoutKey(hub, "global_head_dim"), "num_global_key_value_heads");
        ObjectNode overrides = saved.putObject("per_layer_config");
        overrides.putObject("1").put("head_dim", 32).put("num_key_value_heads", 1);
        overrides.putObject("4").put("head_dim", 32).put("num_key_value_heads", 1);
        for (ObjectNode json : new ObjectNode[]{hub, saved}) {
            DecoderConfig c = DecoderConfig.fromJson(json);
            assertEquals(32, c.layerShapes().headDim(4));
            assertEquals(1, c.layerShapes().keyValueHeads(4));
            assertEquals(16, c.layerShapes().headDim(3));
            assertEquals(2, c.layerShapes().keyValueHeads(3));
            assertTrue(c.layerShapes().hasValueProjection(0));
            assertFalse(c.layerShapes().hasValueProjection(1), "k_eq_v: the full layer's values are its keys");
            assertEquals(2, c.layerShapes().keyValueSource(3), "the last sliding layer before the shared ones");
            assertEquals(1, c.layerShapes().keyValueSource(4));
            assertFalse(c.layerShapes().projectsKeyValues(3));
            assertEquals(96, c.layerShapes().intermediateSize(2));
            assertEquals(192, c.layerShapes().intermediateSize(3));
        }
    }

    /** Proportional rotary by hand: of 8 pairs of a 16-dim head, int(0.5 * 8) = 4 turn at 10000^(-2i/16), 4 stay. */
    @Test
    void gemma4ProportionalRotaryTurnsTheFirstPairsAtTheWholeHeadsFrequencies() {
        ObjectNode json = JSON.createObjectNode().put("rope_type", "proportional").put("rope_theta", 1e4)
                .put("partial_rotary_factor", 0.5);
        ObjectNode config = JSON.createObjectNode();
        config.set("rope_parameters", json);
        float[] inv = RotaryFrequencies.of(RopeConfig.fromJson(config, 64), 16).invFreq();
        assertEquals(8, inv.length);
        for (int i = 0; i < 8; i++) {
            assertEquals(i < 4 ? (float) Math.pow(1e4, -2.0 * i / 16) : 0f, inv[i], 1e-7f, "pair " + i);
        }
    }

    /**
     * gemma-4-26B-A4B's {@code enable_moe_block}: a mixture in every layer beside its MLP, named on the layer itself,
     * its top k renormalised (Gemma4TextRouter always divides by their sum), no load-balancing loss whatever
     * {@code output_router_logits} says (Gemma4ForCausalLM adds none); its counts and width have no defaults.
     */
    @Test
    void gemma4MixtureRunsBesideEveryLayersMlp() {
        ObjectNode json = base("gemma4_text", 3).put("enable_moe_block", true).put("num_experts", 8)
                .put("top_k_experts", 2).put("moe_intermediate_size", 24).put("output_router_logits", true);
        DecoderConfig c = DecoderConfig.fromJson(json);
        MoeConfig moe = c.moe();
        assertEquals(MoeConfig.Naming.GEMMA4, moe.naming());
        assertTrue(moe.naming().besideMlp() && moe.naming().stacked());
        assertEquals("router", moe.naming().router());
        assertEquals(8, moe.numExperts());
        assertEquals(2, moe.numExpertsPerTok());
        assertEquals(24, moe.expertIntermediateSize());
        assertTrue(moe.normTopkProb());
        assertFalse(moe.outputRouterLogits());
        assertEquals(MoeConfig.Routing.SOFTMAX, moe.routing());
        assertTrue(c.isSparse(0) && c.isSparse(1) && c.isSparse(2));
        assertEquals(0, moe.sharedExpertIntermediateSize());
        assertNull(DecoderConfig.fromJson(base("gemma4_text", 3).put("num_experts", 8)).moe(),
                "without enable_moe_block the counts are ignored, as Gemma4TextConfig does");
        for (String key : List.of("num_experts", "top_k_experts", "moe_intermediate_size")) {
            assertRefused(withoutKey(json, key), "'" + key + "' is missing");
        }
        assertRefused(json.deepCopy().put("top_k_experts", 9), "'top_k_experts' = 9 must be an integer in [1, 8]");
    }

    @Test
    void gemma4RefusesWhatItDoesNotRunNamingTheField() {
        assertRefused(base("gemma4_text", 2).put("use_bidirectional_attention", "all"),
                "use_bidirectional_attention = \"all\"");
        ObjectNode sliding = base("gemma4_text", 2);
        sliding.putObject("per_layer_config").putObject("0").put("head_dim", 32);
        assertRefused(sliding, "per_layer_config.0 overrides a sliding-attention layer");
        ObjectNode other = base("gemma4_text", 2);
        other.putObject("per_layer_config").putObject("1").put("intermediate_size", 32);
        assertRefused(other, "per_layer_config.1.intermediate_size is not supported");
        ObjectNode noSource = base("gemma4_text", 2).put("num_kv_shared_layers", 1);
        noSource.putArray("layer_types").add("sliding_attention").add("full_attention");
        assertRefused(noSource, "num_kv_shared_layers = 1 makes layer 1 reuse");
    }

    private static ObjectNode withoutKey(ObjectNode json, String key) {
        ObjectNode copy = json.deepCopy();
        copy.remove(key);
        return copy;
    }

    private static void assertRefused(ObjectNode json, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DecoderConfig.fromJson(json));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    /**
     * GLM-4.5: dense first first_k_dense_replace layers, then a sigmoid router with its correction bias, picking within
     * the best topk_group of n_group groups; its shared experts unscaled; q/k/v biases without o_proj's; half of each
     * head rotated in halves.
     */
    @Test
    void glm45RoutesBySigmoidsWithinGroupsAfterItsDenseLayers() {
        ObjectNode json = base("glm4_moe", 4).put("n_routed_experts", 16).put("num_experts_per_tok", 4)
                .put("moe_intermediate_size", 24).put("n_shared_experts", 2).put("first_k_dense_replace", 2)
                .put("n_group", 4).put("topk_group", 2).put("routed_scaling_factor", 2.5).put("attention_bias", true)
                .put("use_qk_norm", true);
        DecoderConfig c = DecoderConfig.fromJson(json);
        assertArrayEquals(new boolean[]{false, false, true, true}, new boolean[]{c.isSparse(0), c.isSparse(1),
                c.isSparse(2), c.isSparse(3)});
        MoeConfig moe = c.moe();
        assertEquals(16, moe.numExperts());
        assertEquals(48, moe.sharedExpertIntermediateSize(), "moe_intermediate_size times n_shared_experts");
        assertTrue(moe.normTopkProb() && !moe.sharedExpertGated());
        assertEquals(new MoeConfig.Routing(true, MoeConfig.SelectionBias.ROUTER, 4, 2, MoeConfig.GroupScore.TOP_TWO_SUM, 1e-20f, 2.5f, true), moe.routing());
        assertTrue(c.attentionBias() && !c.outputBias(), "attention_bias covers q, k and v");
        assertEquals(DecoderConfig.QkNorm.PER_HEAD, c.qkNorm());
        assertEquals(8, c.rotaryDim(), "partial_rotary_factor 0.5 by default");
        assertEquals(RotaryLayout.HALVES, c.rotaryLayout());
        assertEquals(1e-5f, c.normEps());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DecoderConfig.fromJson(json.deepCopy().put("n_group", 3)));
        assertTrue(e.getMessage().contains("n_group = 3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> DecoderConfig.fromJson(json.deepCopy().put("topk_group", 1).put("num_experts_per_tok", 5)));
        assertTrue(e.getMessage().contains("topk_group = 1"), e.getMessage());
    }

    /**
     * ERNIE-4.5-MoE: sparse layers from moe_layer_start_index to moe_layer_end_index every moe_layer_interval-th; a
     * float32 softmax router picking with its moe_statics bias and always renormalising; use_bias on every projection
     * but the experts'; rotary in adjacent pairs.
     */
    @Test
    void ernie45MoeRoutesBetweenItsStartAndEndLayers() {
        ObjectNode json = base("ernie4_5_moe", 6).put("moe_num_experts", 8).put("moe_k", 2)
                .put("moe_intermediate_size", 24).put("moe_num_shared_experts", 1).put("moe_layer_start_index", 1)
                .put("moe_layer_end_index", 4).put("moe_layer_interval", 2).put("use_bias", true)
                .put("tie_word_embeddings", false);
        DecoderConfig c = DecoderConfig.fromJson(json);
        // (i + 1) % 2 == 0 and 1 <= i <= 4: layers 1 and 3
        assertArrayEquals(new boolean[]{false, true, false, true, false, false}, new boolean[]{c.isSparse(0),
                c.isSparse(1), c.isSparse(2), c.isSparse(3), c.isSparse(4), c.isSparse(5)});
        MoeConfig moe = c.moe();
        assertEquals(8, moe.numExperts());
        assertEquals(2, moe.numExpertsPerTok());
        assertEquals(24, moe.sharedExpertIntermediateSize());
        assertTrue(moe.normTopkProb() && !moe.sharedExpertGated());
        assertEquals(new MoeConfig.Routing(false, MoeConfig.SelectionBias.STATICS, 1, 1, MoeConfig.GroupScore.TOP_TWO_SUM, 0f, 1f, true), moe.routing());
        assertTrue(c.attentionBias() && c.outputBias() && c.mlpBias() && c.headBias(), "use_bias: lm_head's too");
        assertEquals(RotaryLayout.INTERLEAVED, c.rotaryLayout());
        IllegalArgumentException tied = assertThrows(IllegalArgumentException.class,
                () -> DecoderConfig.fromJson(json.deepCopy().put("tie_word_embeddings", true)));
        assertTrue(tied.getMessage().contains("tie_word_embeddings"), tied.getMessage());
        ObjectNode biasFree = json.deepCopy().put("use_bias", false);
        biasFree.remove("tie_word_embeddings");
        assertTrue(DecoderConfig.fromJson(biasFree).tieWordEmbeddings(), "tied by default");
        json.remove("moe_layer_end_index");
        json.put("moe_layer_interval", 1);
        DecoderConfig toTheEnd = DecoderConfig.fromJson(json);
        assertTrue(toTheEnd.isSparse(5) && !toTheEnd.isSparse(0), "moe_layer_end_index -1 by default: the last layer");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DecoderConfig.fromJson(json.deepCopy().put("moe_norm_min", 0.5)));
        assertTrue(e.getMessage().contains("moe_norm_min"), e.getMessage());
    }
}
