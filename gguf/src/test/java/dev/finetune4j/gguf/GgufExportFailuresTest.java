package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the export refuses, with a message saying what and what to do, and that it never leaves half a file. */
class GgufExportFailuresTest {
    private static final ReferenceCase QWEN2 = ReferenceCase.byName().get("qwen2-bytebpe-f32");
    private static final ReferenceCase LLAMA = ReferenceCase.byName().get("llama-spm-f32");
    private static final ReferenceCase MIXTRAL = ReferenceCase.byName().get("mixtral-spm-f32");
    private static final ReferenceCase QWEN2_MOE = ReferenceCase.byName().get("qwen2moe-bytebpe-f32");
    private static final ReferenceCase QWEN3_MOE = ReferenceCase.byName().get("qwen3moe-bytebpe-f32");
    private static final ReferenceCase GPT_OSS = ReferenceCase.byName().get("gptoss-bytebpe-f32");

    /**
     * Granite 4.0 H's mixture (granite-4.0-h-tiny, -h-small), the one mixture of a supported family not exported, is
     * refused, naming it, with what to do instead.
     */
    @Test
    void granite4HsMixtureIsRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase granite = ReferenceCase.byName().get("granite4h-bytebpe-f32");
        ObjectNode moe = granite.configJson().put("num_local_experts", 4).put("num_experts_per_tok", 2);
        String message = refusal(moe, granite, tmp);
        assertTrue(message.contains("Granite 4.0 H's mixtures") && message.contains("convert_hf_to_gguf.py"), message);
    }

    @Test
    void configsGgufCannotExpressAreRefused(@TempDir Path tmp) throws Exception {
        ObjectNode yarn = QWEN2.configJson();
        yarn.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0)
                .put("original_max_position_embeddings", 32);
        assertTrue(refusal(yarn, QWEN2, tmp.resolve("a")).contains("rope_type 'yarn'"));
        ObjectNode sliding = QWEN2.configJson().put("use_sliding_window", true).put("sliding_window", 16)
                .put("max_window_layers", 0);
        assertTrue(refusal(sliding, QWEN2, tmp.resolve("b")).contains("sliding-window layers"));
        ObjectNode partial = LLAMA.configJson().put("partial_rotary_factor", 0.5);
        assertTrue(refusal(partial, LLAMA, tmp.resolve("c")).contains("partial rotary embedding (8 of 16"));
    }

    /** What llama.cpp's Gemma graphs fix: Gemma 2's soft caps, the tied head, the scale from head_dim. */
    @Test
    void gemmaSettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase gemma2 = ReferenceCase.byName().get("gemma2-spm-f32");
        ObjectNode uncapped = gemma2.configJson().putNull("attn_logit_softcapping");
        assertTrue(refusal(uncapped, gemma2, tmp.resolve("a")).contains("Gemma 2 without its soft caps"));
        ObjectNode untied = gemma2.configJson().put("tie_word_embeddings", false);
        assertTrue(refusal(untied, gemma2, tmp.resolve("b")).contains("tie_word_embeddings false"));
        ObjectNode scaled = gemma2.configJson().put("query_pre_attn_scalar", 64);
        assertTrue(refusal(scaled, gemma2, tmp.resolve("c")).contains("query_pre_attn_scalar"));
        ObjectNode exactGelu = gemma2.configJson().put("hidden_activation", "gelu");
        assertTrue(refusal(exactGelu, gemma2, tmp.resolve("d")).contains("the activation GELU_EXACT"));
    }

    /**
     * What llama.cpp's mixtures fix (src/models/qwen2moe.cpp, qwen3moe.cpp): every layer routes, qwen2moe never and
     * qwen3moe always renormalises the routing weights, qwen2moe has a shared expert and its own head.
     */
    @Test
    void mixtureSettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ObjectNode denseLayer = QWEN2_MOE.configJson();
        denseLayer.putArray("mlp_only_layers").add(1);
        assertTrue(refusal(denseLayer, QWEN2_MOE, tmp.resolve("a")).contains("dense MLP layers [1]"));
        ObjectNode everyOther = QWEN3_MOE.configJson().put("decoder_sparse_step", 2);
        assertTrue(refusal(everyOther, QWEN3_MOE, tmp.resolve("b")).contains("dense MLP layers [0]"));
        String renormalised = refusal(QWEN2_MOE.configJson().put("norm_topk_prob", true), QWEN2_MOE, tmp.resolve("c"));
        assertTrue(renormalised.contains("norm_topk_prob true") && renormalised.contains("never renormalises"),
                renormalised);
        String plain = refusal(QWEN3_MOE.configJson().put("norm_topk_prob", false), QWEN3_MOE, tmp.resolve("d"));
        assertTrue(plain.contains("norm_topk_prob false") && plain.contains("always renormalises"), plain);
        ObjectNode unshared = QWEN2_MOE.configJson().put("shared_expert_intermediate_size", 0);
        assertTrue(refusal(unshared, QWEN2_MOE, tmp.resolve("e")).contains("without a shared expert"));
        ObjectNode tied = QWEN2_MOE.configJson().put("tie_word_embeddings", true);
        assertTrue(refusal(tied, QWEN2_MOE, tmp.resolve("f")).contains("tied to the token embeddings"));
    }

    /**
     * What llama.cpp's glm4moe and ernie4_5-moe fix (src/models/glm4-moe.cpp, ernie4-5-moe.cpp, ernie4-5.cpp): GLM-4.5's
     * shared experts, which its graph requires; ERNIE's biases beyond q, k and v (its lm_head's among them) and dense
     * layers after a sparse one, which its loader reads as sparse whatever the step.
     */
    @Test
    void glm45AndErnie45MoeSettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase glm = ReferenceCase.byName().get("glm4moe-bytebpe-f32");
        ReferenceCase ernie = ReferenceCase.byName().get("ernie4_5moe-bytebpe-f32");
        String unshared = refusal(glm.configJson().put("n_shared_experts", 0), glm, tmp.resolve("a"));
        assertTrue(unshared.contains("glm4moe architecture cannot express a mixture without a shared expert"), unshared);
        String biased = refusal(ernie.configJson().put("use_bias", true), ernie, tmp.resolve("b"));
        assertTrue(biased.contains("ernie4_5-moe architecture cannot express biases (use_bias")
                && biased.contains("nor to lm_head"), biased);
        String interleaved = refusal(ernie.configJson().put("moe_layer_interval", 2), ernie, tmp.resolve("c"));
        assertTrue(interleaved.contains("dense MLP layers [2] after the first sparse one, layer 1"), interleaved);
        String ended = refusal(ernie.configJson().put("moe_layer_end_index", 1), ernie, tmp.resolve("d"));
        assertTrue(ended.contains("dense MLP layers [2] after the first sparse one"), ended);
    }

    /**
     * A mixture a graph of the table does not compute is refused by the graph's row: GLM-4.5's leading dense layer,
     * sigmoid scores, selection bias, groups and scale under qwen3moe's, and all but its dense layer and selection bias
     * under ernie4_5-moe's, which picks by such a bias but scores by a softmax, never limits groups and never scales.
     */
    @Test
    void aRouterItsGraphCannotComputeIsRefused() throws Exception {
        ObjectNode config = ReferenceCase.byName().get("glm4moe-bytebpe-f32").configJson();
        try (LanguageModel model = ReferenceCase.model(config)) {
            MoeConfig moe = ((DecoderModel) model).config().moe();
            List<String> underSoftmax = refusals(moe, "qwen3moe");
            assertEquals(5, underSoftmax.size(), underSoftmax.toString());
            assertTrue(underSoftmax.getFirst().startsWith("dense MLP layers [0] between the sparse ones"),
                    underSoftmax.toString());
            assertTrue(underSoftmax.get(1).startsWith("a sigmoid router"), underSoftmax.toString());
            assertTrue(underSoftmax.get(2).startsWith("a selection bias"), underSoftmax.toString());
            assertEquals("group-limited routing (n_group 4, topk_group 2)", underSoftmax.get(3));
            assertTrue(underSoftmax.get(4).startsWith("routed_scaling_factor 2.5"), underSoftmax.toString());
            List<String> underErnie = refusals(moe, "ernie4_5-moe");
            assertEquals(3, underErnie.size(), underErnie.toString());
            assertTrue(underErnie.getFirst().startsWith("a sigmoid router"), underErnie.toString());
            assertTrue(refusals(moe, "glm4moe").isEmpty());
        }
    }

    /**
     * What llama.cpp's deepseek2 fixes (src/models/deepseek2.cpp, src/llama-context.cpp, src/llama-graph.cpp): no
     * attention biases (references/deepseek_v3_lite has them), groups scored by their two best (not DeepSeek-V2's
     * group_limited_greedy), YaRN's magnitudes from mscale_all_dim alone (references/deepseek_v3's mscale 0.5 beside
     * mscale_all_dim 1 is refused, as is YaRN without mscale_all_dim), the latents normalised with rms_norm_eps, and
     * plain queries at DeepSeek-V2-Lite's depths.
     */
    @Test
    void deepSeekSettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase v3 = ReferenceCase.byName().get("deepseekv3-bytebpe-f32");
        ReferenceCase v2 = ReferenceCase.byName().get("deepseekv2-bytebpe-f32");
        String biased = refusal(v3.configJson().put("attention_bias", true), v3, tmp.resolve("a"));
        assertTrue(biased.contains("deepseek2 architecture cannot express attention biases (attention_bias")
                && biased.contains("finetune4j serve"), biased);
        String grouped = refusal(v2.configJson().put("topk_method", "group_limited_greedy"), v2, tmp.resolve("b"));
        assertTrue(grouped.contains("groups of experts scored by their best probability (DeepSeek-V2's topk_method "
                + "group_limited_greedy"), grouped);
        ObjectNode halfScale = v3.configJson();
        ((ObjectNode) halfScale.get("rope_parameters")).put("mscale", 0.5);
        String magnitude = refusal(halfScale, v3, tmp.resolve("c"));
        assertTrue(magnitude.contains("the rotary cos/sin scale 0.939") && magnitude.contains("it reads no mscale"),
                magnitude);
        ObjectNode unscaled = v3.configJson();
        ((ObjectNode) unscaled.get("rope_parameters")).remove(List.of("mscale", "mscale_all_dim"));
        assertTrue(refusal(unscaled, v3, tmp.resolve("d")).contains("YaRN without mscale_all_dim"));
        String eps = refusal(v3.configJson().put("rms_norm_eps", 1e-5), v3, tmp.resolve("e"));
        assertTrue(eps.contains("rms_norm_eps 1.0E-5 (its graph normalises the query and key/value latents"), eps);
        String lite = refusal(v3.configJson().put("num_hidden_layers", 27), v3, tmp.resolve("f"));
        assertTrue(lite.contains("a query bottleneck (q_lora_rank 32) in a model of 27 layers"), lite);
        assertNoGguf(tmp);
    }

    /**
     * What llama.cpp's qwen3next fixes (src/models/qwen3next.cpp): every layer routes (references/qwen3_next's
     * mlp_only_layers [2] is refused), key and value heads of one size (its linear_value_head_dim 6 beside
     * linear_key_head_dim 8 is refused), and renormalised routing weights.
     */
    @Test
    void qwen3NextSettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase next = ReferenceCase.byName().get("qwen3next-bytebpe-f32");
        ObjectNode dense = next.configJson();
        dense.putArray("mlp_only_layers").add(2);
        String denseLayer = refusal(dense, next, tmp.resolve("a"));
        assertTrue(denseLayer.contains("qwen3next architecture cannot express dense MLP layers [2] between the sparse "
                + "ones") && denseLayer.contains("finetune4j serve"), denseLayer);
        ObjectNode narrow = next.configJson().put("linear_key_head_dim", 8).put("linear_value_head_dim", 6);
        assertTrue(refusal(narrow, next, tmp.resolve("b")).contains("linear_key_head_dim 8 and linear_value_head_dim 6"));
        ObjectNode unnormalised = next.configJson().put("norm_topk_prob", false);
        assertTrue(refusal(unnormalised, next, tmp.resolve("c")).contains("norm_topk_prob false"));
        assertNoGguf(tmp);
    }

    /**
     * What llama.cpp's gemma4 fixes (src/models/gemma4.cpp, its kv cache's reuse of layers): per-layer embeddings over
     * the model's vocabulary, a sliding layer, kv-shared layers
     * reading the sliding layer two before them or the full layer just before (where transformers reads the last
     * earlier layer of their type), and no adapter on per_layer_model_projection, which its graph multiplies by
     * ggml_mul_mat.
     */
    @Test
    void gemma4SettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase gemma4 = ReferenceCase.byName().get("gemma4-spm-f32");
        String vocab = refusal(gemma4.configJson().put("vocab_size_per_layer_input", 300), gemma4, tmp.resolve("a"));
        assertTrue(vocab.contains("vocab_size_per_layer_input 300"), vocab);
        ObjectNode allFull = gemma4.configJson();
        allFull.putArray("layer_types").add("full_attention").add("full_attention").add("full_attention")
                .add("full_attention").add("full_attention");
        assertTrue(refusal(allFull, gemma4, tmp.resolve("b")).contains("without sliding-window layers"));
        // shared layer 3 (sliding) reads layer 2, the last sliding one before them; llama.cpp's cache gives it layer 1
        ObjectNode swapped = gemma4.configJson();
        swapped.putArray("layer_types").add("sliding_attention").add("full_attention").add("sliding_attention")
                .add("sliding_attention").add("full_attention");
        String sources = refusal(swapped, gemma4, tmp.resolve("d"));
        assertTrue(sources.contains("kv-shared layer 3 reading layer 2's keys and values")
                && sources.contains("those of layer 1"), sources);
        try (PeftModel adapted = Peft.wrap(gemma4.model(), LoraConfig.builder().r(2)
                .targetModules("per_layer_model_projection").build())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.exportLora(adapted, tmp.resolve("ple.gguf"), GgufType.F32));
            assertTrue(e.getMessage().contains("gemma4 graph multiplies its per_layer_model_proj without adapters"),
                    e.getMessage());
        }
        assertNoGguf(tmp);
    }

    /**
     * llama.cpp's deepseek2 multiplies the queries and the latents without adapters, so PEFT's default targets for
     * DeepSeek (q_proj or q_b_proj, and kv_b_proj, which the file splits into attn_k_b and attn_v_b) are refused.
     */
    @Test
    void loraOnDeepSeeksQueriesAndLatentsIsRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase v3 = ReferenceCase.byName().get("deepseekv3-bytebpe-f32");
        try (PeftModel queries = Peft.wrap(v3.model(), LoraConfig.builder().r(2).targetModules("q_b_proj").build());
             PeftModel latents = Peft.wrap(v3.model(), LoraConfig.builder().r(2).targetModules("kv_b_proj").build())) {
            IllegalArgumentException q = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.exportLora(queries, tmp.resolve("q.gguf"), GgufType.F32));
            assertTrue(q.getMessage().contains("'model.layers.0.self_attn.q_b_proj' carries LoRA, but llama.cpp's "
                    + "deepseek2 graph multiplies its attn_q_b without adapters") && q.getMessage().contains("o_proj"),
                    q.getMessage());
            IllegalArgumentException kv = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.exportLora(latents, tmp.resolve("kv.gguf"), GgufType.F32));
            assertTrue(kv.getMessage().contains("multiplies its attn_k_b and attn_v_b without adapters"),
                    kv.getMessage());
        }
        assertNoGguf(tmp);
    }

    /** What the row of GGUF architecture {@code architecture} refuses of {@code moe}, in order, every one. */
    private static List<String> refusals(MoeConfig moe, String architecture) {
        List<String> out = new ArrayList<>();
        new MixtureHyperparameters(moe, LlamaCppArchitectures.of(architecture).mixture(), 3, out::add);
        return out;
    }

    /**
     * What llama.cpp's olmo2 and smollm3 fix (src/models/olmo2.cpp, smollm3.cpp): OLMo's own output head, heads filling
     * the hidden size, sliding layers rotated unscaled; SmolLM3's rotary-free layers every 4th, no sliding window.
     */
    @Test
    void olmoAndSmolLm3SettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase olmo2 = ReferenceCase.byName().get("olmo2-bytebpe-f32");
        ReferenceCase olmo3 = ReferenceCase.byName().get("olmo3-bytebpe-f32");
        ReferenceCase smolLm3 = ReferenceCase.byName().get("smollm3-bytebpe-f32");
        ObjectNode tied = olmo2.configJson().put("tie_word_embeddings", true);
        assertTrue(refusal(tied, olmo2, tmp.resolve("a")).contains("tied to the token embeddings"));
        String wideHeads = refusal(olmo2.configJson().put("head_dim", 32), olmo2, tmp.resolve("b"));
        assertTrue(wideHeads.contains("head_dim 32") && wideHeads.contains("= 16 wide"), wideHeads);
        // transformers 5's per-layer-type form; a flat config's scaling is the full layers' alone, as llama.cpp has it
        ObjectNode scaled = olmo3.configJson();
        ObjectNode rope = scaled.putObject("rope_parameters");
        rope.putObject("full_attention").put("rope_type", "default").put("rope_theta", 500000.0);
        rope.putObject("sliding_attention").put("rope_type", "linear").put("factor", 2.0).put("rope_theta", 500000.0);
        String local = refusal(scaled, olmo3, tmp.resolve("c"));
        assertTrue(local.contains("sliding layers' rotary embedding") && local.contains("'linear'"), local);
        ObjectNode everyOther = smolLm3.configJson().put("no_rope_layer_interval", 2);
        String noRope = refusal(everyOther, smolLm3, tmp.resolve("d"));
        assertTrue(noRope.contains("other than every 4th") && noRope.contains("at layers [1]"), noRope);
        ObjectNode sliding = smolLm3.configJson().put("use_sliding_window", true).put("sliding_window", 4);
        assertTrue(refusal(sliding, smolLm3, tmp.resolve("e")).contains("sliding-window layers"));
    }

    /**
     * What llama.cpp's chatglm, ernie4_5, command-r and cohere2 fix (src/models/chatglm.cpp, ernie4-5.cpp, command-r.cpp,
     * cohere2.cpp): ERNIE's q/k/v biases alone and whole-head rotary; Cohere's tied head, no attention biases, q/k norms
     * from 64 layers on and only there, cohere2's sliding layers; chatglm's and Cohere's heads filling the hidden size.
     */
    @Test
    void glmErnieAndCohereSettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase glm = ReferenceCase.byName().get("glm-bytebpe-f32");
        ReferenceCase ernie = ReferenceCase.byName().get("ernie4_5-bytebpe-f32");
        ReferenceCase cohere = ReferenceCase.byName().get("cohere-bytebpe-f32");
        ReferenceCase cohere2 = ReferenceCase.byName().get("cohere2-bytebpe-f32");
        String biased = refusal(ernie.configJson().put("use_bias", true), ernie, tmp.resolve("a"));
        assertTrue(biased.contains("use_bias") && biased.contains("none to o_proj or the MLP"), biased);
        ObjectNode partial = ernie.configJson().put("partial_rotary_factor", 0.5);
        assertTrue(refusal(partial, ernie, tmp.resolve("b")).contains("partial rotary embedding (8 of 16"));
        ObjectNode untied = cohere.configJson().put("tie_word_embeddings", false);
        assertTrue(refusal(untied, cohere, tmp.resolve("c")).contains("tie_word_embeddings false"));
        String cohereBias = refusal(cohere.configJson().put("attention_bias", true), cohere, tmp.resolve("d"));
        assertTrue(cohereBias.contains("attention biases") && cohereBias.contains("no attn_output.bias"), cohereBias);
        String deep = refusal(cohere.configJson().put("num_hidden_layers", 64), cohere, tmp.resolve("e"));
        assertTrue(deep.contains("64 layers without q/k norms"), deep);
        String shallow = refusal(cohere.configJson().put("use_qk_norm", true), cohere, tmp.resolve("e2"));
        assertTrue(shallow.contains("2 layers with q/k norms") && shallow.contains("64 layers or more"), shallow);
        ObjectNode allFull = cohere2.configJson();
        allFull.putArray("layer_types").add("full_attention").add("full_attention").add("full_attention")
                .add("full_attention");
        assertTrue(refusal(allFull, cohere2, tmp.resolve("f")).contains("without sliding-window layers"));
        String wideHeads = refusal(glm.configJson().put("head_dim", 32), glm, tmp.resolve("g"));
        assertTrue(wideHeads.contains("heads of 32") && wideHeads.contains("must be 64"), wideHeads);
    }

    /**
     * What llama.cpp's exaone4, seed_oss, hunyuan-dense, starcoder2 and arcee fix (src/models/exaone4.cpp, seed-oss.cpp,
     * hunyuan-vl.cpp, starcoder2.cpp, arcee.cpp): EXAONE 4's window at 64 layers alone, and there always; no o_proj bias
     * in EXAONE 4, Seed-OSS, Hunyuan and Arcee, no MLP bias in Seed-OSS; StarCoder2's biases everywhere;
     * Arcee's squared ReLU and YaRN with llama.cpp's betas and rounded ramp.
     */
    @Test
    void exaoneSeedHunyuanStarCoderAndArceeSettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase exaone4 = ReferenceCase.byName().get("exaone4-bytebpe-f32");
        ReferenceCase exaone4Sliding = ReferenceCase.byName().get("exaone4-sliding-bytebpe-f32");
        ReferenceCase seedOss = ReferenceCase.byName().get("seed_oss-bytebpe-f32");
        ReferenceCase hunyuan = ReferenceCase.byName().get("hunyuan-bytebpe-f32");
        ReferenceCase starCoder2 = ReferenceCase.byName().get("starcoder2-bytebpe-f32");
        ReferenceCase arcee = ReferenceCase.byName().get("arcee-bytebpe-f32");
        ObjectNode shallowWindow = exaone4.configJson().put("sliding_window", 4);
        shallowWindow.putArray("layer_types").add("sliding_attention").add("full_attention");
        String shallow = refusal(shallowWindow, exaone4, tmp.resolve("a"));
        assertTrue(shallow.contains("sliding-window layers in a model of 2 layers") && shallow.contains("only at 64"),
                shallow);
        ObjectNode deepFull = exaone4Sliding.configJson().putNull("sliding_window");
        var full = deepFull.putArray("layer_types");
        for (int i = 0; i < 64; i++) {
            full.add("full_attention");
        }
        assertTrue(refusal(deepFull, exaone4Sliding, tmp.resolve("b")).contains("64 layers without sliding-window"));
        String exaoneBias = refusal(exaone4.configJson().put("attention_bias", true), exaone4, tmp.resolve("c"));
        assertTrue(exaoneBias.contains("attention biases") && exaoneBias.contains("no attn_output.bias"), exaoneBias);
        ObjectNode seedOutputBias = seedOss.configJson().put("attention_out_bias", true);
        assertTrue(refusal(seedOutputBias, seedOss, tmp.resolve("d")).contains("an o_proj bias (attention_out_bias"));
        ObjectNode seedMlpBias = seedOss.configJson().put("mlp_bias", true);
        assertTrue(refusal(seedMlpBias, seedOss, tmp.resolve("e")).contains("MLP biases (mlp_bias)"));
        String hunyuanBias = refusal(hunyuan.configJson().put("attention_bias", true), hunyuan, tmp.resolve("f"));
        assertTrue(hunyuanBias.contains("no attn_output.bias"), hunyuanBias);
        ObjectNode unbiased = starCoder2.configJson().put("use_bias", false);
        assertTrue(refusal(unbiased, starCoder2, tmp.resolve("g")).contains("use_bias false"));
        ObjectNode silu = arcee.configJson().put("hidden_act", "silu");
        assertTrue(refusal(silu, arcee, tmp.resolve("i")).contains("the activation SILU (it computes RELU2)"));
        ObjectNode betas = arcee.configJson();
        ((ObjectNode) betas.get("rope_parameters")).put("beta_fast", 0.1).put("beta_slow", 0.01);
        assertTrue(refusal(betas, arcee, tmp.resolve("j")).contains("YaRN's beta_fast 0.1 and beta_slow 0.01"));
        ObjectNode unrounded = arcee.configJson();
        ((ObjectNode) unrounded.get("rope_parameters")).put("truncate", false);
        assertTrue(refusal(unrounded, arcee, tmp.resolve("k")).contains("truncate false"));
    }

    /**
     * What llama.cpp's olmoe fixes (src/models/olmoe.cpp): routing weights never renormalised, its own output head,
     * heads filling the hidden size, and k_norm as wide as the hidden size, so no grouped-query attention.
     */
    @Test
    void olmoeSettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase olmoe = ReferenceCase.byName().get("olmoe-bytebpe-f32");
        String renormalised = refusal(olmoe.configJson().put("norm_topk_prob", true), olmoe, tmp.resolve("a"));
        assertTrue(renormalised.contains("olmoe architecture cannot express norm_topk_prob true")
                && renormalised.contains("never renormalises the 2 routing weights"), renormalised);
        ObjectNode tied = olmoe.configJson().put("tie_word_embeddings", true);
        assertTrue(refusal(tied, olmoe, tmp.resolve("b")).contains("tied to the token embeddings"));
        String wideHeads = refusal(olmoe.configJson().put("head_dim", 32), olmoe, tmp.resolve("c"));
        assertTrue(wideHeads.contains("head_dim 32") && wideHeads.contains("= 16 wide"), wideHeads);
        String grouped = refusal(olmoe.configJson().put("num_key_value_heads", 2), olmoe, tmp.resolve("d"));
        assertTrue(grouped.contains("grouped-query attention (num_key_value_heads 2 of 4 heads")
                && grouped.contains("as wide as the hidden size, 64, where this model's is 32"), grouped);
    }

    /**
     * What llama.cpp's granite fixes for Granite 4 (src/models/granite.cpp): SiLU, no MLP biases, and rotary
     * embeddings unscaled, linear or Llama 3's (no position encoding at all exports: rope.scaling.finetuned false).
     */
    @Test
    void granite4SettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase granite4 = ReferenceCase.byName().get("granite4-bytebpe-f32");
        ObjectNode yarn = granite4.configJson();
        yarn.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0)
                .put("original_max_position_embeddings", 32);
        String scaled = refusal(yarn, granite4, tmp.resolve("a"));
        assertTrue(scaled.contains("granite architecture cannot express rope_type 'yarn'")
                && scaled.contains("of this granitemoehybrid model"), scaled);
        String gelu = refusal(granite4.configJson().put("hidden_act", "gelu"), granite4, tmp.resolve("b"));
        assertTrue(gelu.contains("the activation GELU_EXACT (it computes SILU)"), gelu);
        ObjectNode biased = granite4.configJson().put("mlp_bias", true);
        assertTrue(refusal(biased, granite4, tmp.resolve("c")).contains("MLP biases (mlp_bias)"));
    }

    /**
     * What llama.cpp's granitehybrid fixes for Granite 4.0 H's Mamba-2 layers (src/models/granite-hybrid.cpp,
     * mamba-base.cpp): its gated norm per group, which is transformers' whole-width norm only for one group, an inner
     * width of twice the hidden size, a convolution with a bias and projections without.
     */
    @Test
    void graniteHybridSettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase hybrid = ReferenceCase.byName().get("granite4h-bytebpe-f32");
        String groups = refusal(hybrid.configJson().put("mamba_n_groups", 2), hybrid, tmp.resolve("a"));
        assertTrue(groups.contains("granitehybrid architecture cannot express Mamba-2 layers of mamba_n_groups 2")
                && groups.contains("normalises each of the 2 groups of 64 channels apart")
                && groups.contains("the whole inner width of 128") && groups.contains("only for mamba_n_groups 1"), groups);
        ObjectNode expanded = hybrid.configJson().put("mamba_expand", 4).put("mamba_d_head", 32);
        assertTrue(refusal(expanded, hybrid, tmp.resolve("b")).contains("Mamba-2 layers 256 wide"));
        ObjectNode unbiased = hybrid.configJson().put("mamba_conv_bias", false);
        assertTrue(refusal(unbiased, hybrid, tmp.resolve("c")).contains("mamba_conv_bias false"));
        ObjectNode projBias = hybrid.configJson().put("mamba_proj_bias", true);
        String refused = refusal(projBias, hybrid, tmp.resolve("d"));
        assertTrue(refused.contains("mamba_proj_bias true") && refused.contains("finetune4j serve"), refused);
        ObjectNode mixture = hybrid.configJson().put("num_local_experts", 4).put("num_experts_per_tok", 2);
        assertTrue(refusal(mixture, hybrid, tmp.resolve("e")).contains("Granite 4.0 H's mixtures"));
    }

    /**
     * What llama.cpp's falcon-h1 cannot say of Falcon-H1 (src/models/falcon-h1.cpp, mamba-base.cpp): the mixer's norm
     * before the gate (it gates, then norms), biases of in_proj and out_proj (it has no ssm_in or ssm_out bias), the
     * attention's (it adds no attn_output bias) and the MLP's (refused with every projection's, none published).
     */
    @Test
    void falconH1SettingsLlamaCppCannotSayAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase falcon = ReferenceCase.byName().get("falconh1-bytebpe-f32");
        String before = refusal(falcon.configJson().put("mamba_norm_before_gate", true), falcon, tmp.resolve("a"));
        assertTrue(before.contains("falcon-h1 architecture cannot express the Mamba-2 mixers' norm before the gate "
                + "(mamba_norm_before_gate true") && before.contains("of this falcon_h1 model")
                && before.contains("finetune4j serve"), before);
        String inBias = refusal(falcon.configJson().put("mamba_proj_bias", true), falcon, tmp.resolve("b"));
        assertTrue(inBias.contains("Mamba-2 projection biases (mamba_proj_bias true"), inBias);
        String outBias = refusal(falcon.configJson().put("projectors_bias", true), falcon, tmp.resolve("c"));
        assertTrue(outBias.contains("a bias of the Mamba-2 out_proj (projectors_bias true; it has no ssm_out bias)"),
                outBias);
        String attention = refusal(falcon.configJson().put("attention_bias", true), falcon, tmp.resolve("d"));
        assertTrue(attention.contains("attention biases (attention_bias)"), attention);
        String mlp = refusal(falcon.configJson().put("mlp_bias", true), falcon, tmp.resolve("e"));
        assertTrue(mlp.contains("MLP biases (mlp_bias)"), mlp);
    }

    /**
     * What llama.cpp's nemotron_h and nemotron_h_moe cannot say of Nemotron-H: MLP layers beside mixture layers
     * (once it has experts, every layer with a feed_forward_length routes), and Mamba-2 projection biases (use_bias:
     * nemotron-h.cpp reads no ssm_in or ssm_out bias); and the mixture's K-quant mixes, not yet checked against
     * llama-quantize (the dense model's are).
     */
    @Test
    void nemotronHSettingsLlamaCppCannotSayAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase nemotron = ReferenceCase.byName().get("nemotronh-bytebpe-f32");
        ObjectNode moe = nemotron.configJson().put("n_routed_experts", 4).put("num_experts_per_tok", 2)
                .put("moe_intermediate_size", 32).put("moe_shared_expert_intermediate_size", 32);
        moe.putArray("layers_block_type").add("mamba").add("moe").add("attention").add("mamba").add("mlp");
        String mixture = refusal(moe, nemotron, tmp.resolve("a"));
        assertTrue(mixture.contains("nemotron_h_moe architecture cannot express MLP layers beside mixture layers "
                + "(\"mlp\" and \"moe\" in layers_block_type") && mixture.contains("of this nemotron_h model"),
                mixture);
        String bias = refusal(nemotron.configJson().put("use_bias", true), nemotron, tmp.resolve("b"));
        assertTrue(bias.contains("nemotron_h architecture cannot express Mamba-2 projection biases")
                && bias.contains("of this nemotron_h model"), bias);
        // the mixture's K-quant mixes: no wide case compares them with llama-quantize's files yet
        ReferenceCase mixtureCase = ReferenceCase.byName().get("nemotronhmoe-bytebpe-f32");
        try (HfTokenizer tokenizer = mixtureCase.loadTokenizer(tmp.resolve("c").resolve("tok"));
             LanguageModel model = mixtureCase.model()) {
            IllegalArgumentException kQuant = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.export(model, tokenizer, tmp.resolve("c").resolve("m.gguf"), GgufType.Q4_K_M));
            assertTrue(kQuant.getMessage().contains("nemotron_h writes f32, f16, bf16 or q8_0, not Q4_K_M")
                    && kQuant.getMessage().contains("choices for nemotron_h_moe"), kQuant.getMessage());
        }
        assertNoGguf(tmp.resolve("c"));
    }

    /**
     * What llama.cpp's lfm2 fixes (src/models/lfm2.cpp): convolution layers without biases (conv_bias gives in_proj,
     * the convolution and out_proj each one, which its graph never adds), a kernel of at least 2 taps (it asserts one
     * cached input), and q_proj and out_proj square in the hidden size.
     */
    @Test
    void lfm2SettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase lfm2 = ReferenceCase.byName().get("lfm2-bytebpe-f32");
        String biased = refusal(lfm2.configJson().put("conv_bias", true), lfm2, tmp.resolve("a"));
        assertTrue(biased.contains("lfm2 architecture cannot express convolution layers with biases (conv_bias true")
                && biased.contains("finetune4j serve"), biased);
        String narrow = refusal(lfm2.configJson().put("conv_L_cache", 1), lfm2, tmp.resolve("b"));
        assertTrue(narrow.contains("a convolution of conv_L_cache 1 (it requires at least 2 taps)"), narrow);
        String heads = refusal(lfm2.configJson().put("head_dim", 8), lfm2, tmp.resolve("c"));
        assertTrue(heads.contains("heads of 8") && heads.contains("must be 64"), heads);
    }

    /**
     * What llama.cpp's qwen35 fixes (src/models/qwen35.cpp): its DeltaNet's key and value heads of one size, which it
     * reads from ssm.state_size alone.
     */
    @Test
    void qwen35SettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase qwen35 = ReferenceCase.byName().get("qwen35-bytebpe-f32");
        ObjectNode unequal = qwen35.configJson().put("linear_value_head_dim", 32);
        String refused = refusal(unequal, qwen35, tmp);
        assertTrue(refused.contains("qwen35 architecture cannot express linear attention with linear_key_head_dim 16 "
                + "and linear_value_head_dim 32") && refused.contains("of this qwen3_5_text model"), refused);
    }

    /**
     * What llama.cpp's qwen35moe fixes (src/models/qwen35moe.cpp): the shared expert it requires, the DeltaNet's heads
     * of one size as qwen35's.
     */
    @Test
    void qwen35MoeSettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase qwen35Moe = ReferenceCase.byName().get("qwen35moe-bytebpe-f32");
        ObjectNode unshared = qwen35Moe.configJson().put("shared_expert_intermediate_size", 0);
        String refused = refusal(unshared, qwen35Moe, tmp.resolve("a"));
        assertTrue(refused.contains("qwen35moe architecture cannot express a mixture without a shared expert")
                && refused.contains("of this qwen3_5_moe_text model"), refused);
        ObjectNode unequal = qwen35Moe.configJson().put("linear_value_head_dim", 32);
        assertTrue(refusal(unequal, qwen35Moe, tmp.resolve("b")).contains("linear_key_head_dim 16 and "
                + "linear_value_head_dim 32"));
        assertNoGguf(tmp);
    }

    /**
     * What llama.cpp's gpt-oss fixes (src/models/openai-moe.cpp, src/llama-graph.cpp): the SwiGLU's alpha and limit,
     * the attention biases, its own output head, YaRN's betas and cos/sin scale; layers that never slide and the
     * K-quant mixes, which were not checked against it.
     */
    @Test
    void gptOssSettingsLlamaCppFixesAreRefused(@TempDir Path tmp) throws Exception {
        String limit = refusal(GPT_OSS.configJson().put("swiglu_limit", 8.0), GPT_OSS, tmp.resolve("a"));
        assertTrue(limit.contains("gpt-oss architecture cannot express the experts' SwiGLU with swiglu_alpha 1.702 and "
                + "swiglu_limit 8.0 (its graph fixes 1.702 and 7.0)"), limit);
        String alpha = refusal(GPT_OSS.configJson().put("swiglu_alpha", 1.5), GPT_OSS, tmp.resolve("b"));
        assertTrue(alpha.contains("swiglu_alpha 1.5 and swiglu_limit 7.0"), alpha);
        ObjectNode unbiased = GPT_OSS.configJson().put("attention_bias", false);
        assertTrue(refusal(unbiased, GPT_OSS, tmp.resolve("c")).contains("attention without biases"));
        ObjectNode tied = GPT_OSS.configJson().put("tie_word_embeddings", true);
        assertTrue(refusal(tied, GPT_OSS, tmp.resolve("d")).contains("tied to the token embeddings"));
        ObjectNode full = GPT_OSS.configJson();
        full.putArray("layer_types").add("full_attention").add("full_attention");
        assertTrue(refusal(full, GPT_OSS, tmp.resolve("e")).contains("without sliding-window layers"));
        ObjectNode betas = GPT_OSS.configJson();
        ((ObjectNode) betas.get("rope_parameters")).put("beta_fast", 16.0);
        String beta = refusal(betas, GPT_OSS, tmp.resolve("f"));
        assertTrue(beta.contains("YaRN's beta_fast 16.0 and beta_slow 1.0 (it reads no key for them"), beta);
        ObjectNode scaled = GPT_OSS.configJson();
        ((ObjectNode) scaled.get("rope_parameters")).put("attention_factor", 2.0);
        String scale = refusal(scaled, GPT_OSS, tmp.resolve("g"));
        assertTrue(scale.contains("attention_factor 2.0 (it scales cos and sin by 0.1 ln(factor) + 1 = 1.34"), scale);
        try (LanguageModel model = GPT_OSS.model(); HfTokenizer tokenizer = GPT_OSS.loadTokenizer(tmp.resolve("tok"))) {
            IllegalArgumentException kQuant = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.export(model, tokenizer, tmp.resolve("m.gguf"), GgufType.Q4_K_M));
            assertTrue(kQuant.getMessage().contains("gpt_oss writes f32, f16, bf16 or q8_0, not Q4_K_M"),
                    kQuant.getMessage());
        }
        assertNoGguf(tmp);
    }

    /**
     * LoRA on gpt-oss's stacked experts ({@code target_parameters}) has no form in an adapter GGUF written here, and the
     * model carrying it unmerged is refused too; both name the merge.
     */
    @Test
    void loraOnStackedExpertsIsRefused(@TempDir Path tmp) throws Exception {
        try (HfTokenizer tokenizer = GPT_OSS.loadTokenizer(tmp.resolve("tok"));
             PeftModel experts = Peft.wrap(GPT_OSS.model(),
                     LoraConfig.builder().r(2).targetParameters("mlp.experts.gate_up_proj").build())) {
            IllegalArgumentException adapter = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.exportLora(experts, tmp.resolve("a.gguf"), GgufType.F32));
            assertTrue(adapter.getMessage().contains("'model.layers.0.mlp.experts' carries LoRA on gpt-oss's stacked "
                    + "experts (target_parameters)") && adapter.getMessage().contains("mergeAndUnload"),
                    adapter.getMessage());
            IllegalArgumentException unmerged = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.export(experts.base(), tokenizer, tmp.resolve("m.gguf"), GgufType.F32));
            assertTrue(unmerged.getMessage().contains("no tensor 'model.layers.0.mlp.experts.gate_up_proj'")
                    && unmerged.getMessage().contains("mergeAndUnload"), unmerged.getMessage());
        }
        assertNoGguf(tmp);
    }

    /** A dense model's importance matrix does not fit a mixture: its ffn_gate, ffn_up and ffn_down are not there. */
    @Test
    void anotherModelsImportanceMatrixIsRefusedForAMixture(@TempDir Path tmp) throws Exception {
        try (LanguageModel mixture = MIXTRAL.model(); LanguageModel dense = LLAMA.model();
             HfTokenizer tokenizer = MIXTRAL.loadTokenizer(tmp.resolve("tok"))) {
            ImportanceMatrix denseMatrix = ImportanceMatrix.collect(dense, List.<long[]>of(new long[] {1, 5, 9}));
            IllegalArgumentException export = assertThrows(IllegalArgumentException.class, () -> GgufExporter.export(
                    mixture, tokenizer, tmp.resolve("m.gguf"), GgufType.Q4_K_M, denseMatrix, GgufProgress.NONE));
            assertTrue(export.getMessage().contains("collected from another model"), export.getMessage());
        }
        assertNoGguf(tmp);
    }

    /**
     * llama.cpp's I-quants but IQ3_S, IQ4_NL and IQ4_XS, and Q2_K, are not offered (most need an importance matrix):
     * asking for one names the types that exist.
     */
    @Test
    void otherIQuantsAndQ2KAreRefusedNamingTheTypesOffered() {
        for (String name : List.of("iq2_xs", "IQ3_XXS", "iq3_m", "iq1_m", "q2_k")) {
            IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> GgufType.named(name));
            assertTrue(unknown.getMessage().contains("and Q2_K are not offered")
                    && unknown.getMessage().contains("q6_k, iq3_s, iq4_nl or iq4_xs"), unknown.getMessage());
        }
        assertEquals(GgufType.IQ4_XS, GgufType.named("IQ4_XS"));
        assertEquals(GgufType.IQ4_NL, GgufType.named("iq4_nl"));
        assertEquals(GgufType.IQ3_S, GgufType.named("iq3_s"));
    }

    /** LoRA on an expert's projections has no form in an adapter GGUF written here; attention LoRA exports. */
    @Test
    void loraOnSingleExpertsIsRefused(@TempDir Path tmp) throws Exception {
        try (PeftModel experts = Peft.wrap(MIXTRAL.model(), LoraConfig.builder().r(2).targetModules("w1").build())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.exportLora(experts, tmp.resolve("a.gguf"), GgufType.F32));
            assertTrue(e.getMessage().contains("block_sparse_moe.experts.0.w1' is one expert of a mixture")
                    && e.getMessage().contains("blk.0.ffn_gate_exps.weight"), e.getMessage());
        }
        assertNoGguf(tmp);
    }

    @Test
    void aTokenizerWithMoreTokensThanTheModelIsRefused(@TempDir Path tmp) throws Exception {
        ObjectNode small = QWEN2.configJson().put("vocab_size", 200);
        String message = refusal(small, QWEN2, tmp);
        assertTrue(message.contains("270 token ids") && message.contains("200 rows"), message);
    }

    @Test
    void anUnknownPreTokenizerIsRefusedRatherThanGuessed(@TempDir Path tmp) throws Exception {
        try (LanguageModel model = QWEN2.model(); HfTokenizer tokenizer = QWEN2.loadTokenizer(tmp.resolve("tok"))) {
            Path json = tmp.resolve("tok/tokenizer.json");
            ObjectNode spec = (ObjectNode) new ObjectMapper().readTree(json.toFile());
            ObjectNode split = new ObjectMapper().createObjectNode().put("type", "Split").put("behavior", "Isolated")
                    .put("invert", false);
            split.putObject("pattern").put("Regex", "\\p{L}+|\\p{N}+|\\s+");
            ObjectNode byteLevel = new ObjectMapper().createObjectNode().put("type", "ByteLevel")
                    .put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", false);
            spec.putObject("pre_tokenizer").put("type", "Sequence").putArray("pretokenizers").add(split).add(byteLevel);
            Files.writeString(json, spec.toString());
            try (HfTokenizer custom = HfTokenizer.load(tmp.resolve("tok"))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> GgufExporter.export(model, custom, tmp.resolve("m.gguf"), GgufType.F32));
                assertTrue(e.getMessage().contains("not one llama.cpp is known to reproduce"), e.getMessage());
            }
        }
        assertNoGguf(tmp);
    }

    /** A base model still carrying an adapter's layers is refused, naming the merge; so is DoRA as an adapter GGUF. */
    @Test
    void unmergedAdaptersAndDoraAreRefused(@TempDir Path tmp) throws Exception {
        try (HfTokenizer tokenizer = QWEN2.loadTokenizer(tmp.resolve("tok"));
             PeftModel lora = QWEN2.adapted();
             PeftModel dora = Peft.wrap(QWEN2.model(), LoraConfig.builder().r(2).targetModules("q_proj").useDora(true).build())) {
            IllegalArgumentException unmerged = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.export(lora.base(), tokenizer, tmp.resolve("m.gguf"), GgufType.F32));
            assertTrue(unmerged.getMessage().contains("mergeAndUnload"), unmerged.getMessage());
            IllegalArgumentException doraRefused = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.exportLora(dora, tmp.resolve("d.gguf"), GgufType.F32));
            assertTrue(doraRefused.getMessage().contains("is DoRA"), doraRefused.getMessage());
        }
        assertNoGguf(tmp);
    }

    @Test
    void anOutputInAMissingFolderOrOnAFolderIsRefused(@TempDir Path tmp) throws Exception {
        try (LanguageModel model = QWEN2.model(); HfTokenizer tokenizer = QWEN2.loadTokenizer(tmp.resolve("tok"))) {
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.export(model, tokenizer, tmp.resolve("nope/m.gguf"), GgufType.F32));
            assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
            IllegalArgumentException folder = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.export(model, tokenizer, tmp.resolve("tok"), GgufType.F32));
            assertTrue(folder.getMessage().contains("is a folder"), folder.getMessage());
        }
        assertEquals(List.of(tmp.resolve("tok")), list(tmp));
    }

    /** A failure after the header is written (the model's weights freed under the export) leaves the old file. */
    @Test
    void aFailureWhileWritingLeavesThePreviousFileAndNoTemporaryOne(@TempDir Path tmp) throws Exception {
        Path target = tmp.resolve("m.gguf");
        Files.writeString(target, "previous export");
        try (HfTokenizer tokenizer = QWEN2.loadTokenizer(tmp.resolve("tok"))) {
            LanguageModel model = QWEN2.model();
            model.close();
            RuntimeException e = assertThrows(RuntimeException.class, () -> GgufExporter.export(model, tokenizer, target, GgufType.Q8_0));
            assertTrue(e.getMessage().contains("TensorScope was closed"), "fails reading the first tensor's data, after "
                    + "the header: " + e.getMessage());
        }
        assertEquals("previous export", Files.readString(target));
        assertEquals(List.of(target, tmp.resolve("tok")), list(tmp));
    }

    private static String refusal(ObjectNode config, ReferenceCase c, Path tmp) throws Exception {
        try (HfTokenizer tokenizer = c.loadTokenizer(tmp.resolve("tok"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
                try (LanguageModel model = ReferenceCase.model(config)) {
                    GgufExporter.export(model, tokenizer, tmp.resolve("m.gguf"), GgufType.F32);
                }
            });
            assertNoGguf(tmp);
            return e.getMessage();
        }
    }

    private static void assertNoGguf(Path dir) throws Exception {
        assertTrue(list(dir).stream().noneMatch(p -> p.getFileName().toString().contains(".gguf")), list(dir).toString());
    }

    private static List<Path> list(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }
}
