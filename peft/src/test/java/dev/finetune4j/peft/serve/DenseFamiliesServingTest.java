package dev.finetune4j.peft.serve;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.lora.LoraLinear;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Map;

/**
 * The newer dense families in the engine, requests batched over two attention adapters and the bare base, prompts
 * read in chunks of up to 7 tokens: Granite (its multipliers), Olmo 3 (norms after the sub-blocks, q/k norms across
 * heads, a sliding window of 6 over the cached keys with its own rotary table), SmolLM3 (a layer that rotates
 * neither its queries nor its cached keys), Qwen3.5 (three linear-attention layers) and Granite 4.0 H (three Mamba-2
 * layers; also with its mixture of experts), whose per-row recurrent states the engine carries through prefill chunks, joins and re-layouts of the
 * batch, GLM-4 (partial rotary in adjacent pairs over cached keys, four norms), ERNIE 4.5 (biased projections under
 * adapters), Cohere 2 (parallel sub-blocks, a window of 6 and a layer without rotary), EXAONE 4 (q/k norms, a
 * window, a layer without rotary), Hunyuan (cached keys normalised after the rotary) and StarCoder2 (a window on every
 * layer, biased LayerNorms), LFM2-MoE (convolution states beside a sigmoid-routed mixture), GLM-4.5 (grouped
 * sigmoid routing, a partial rotary), ERNIE-4.5-MoE (a biased softmax router, lm_head's bias) and Qwen3-VL's language
 * models (adapters keyed under model.language_model, the vision tower left on disk; Qwen3-VL-MoE's stacked experts),
 * Falcon-H1 (attention and a Mamba-2 mixer in every layer: keys, values and a recurrent state per row in one layer's
 * cache entry), Apertus (xIELU), Ministral 3 (the query temperature of each row's own positions), Mistral 3's language
 * model (adapters keyed under model.language_model, the pixtral tower left on disk), Ministral (sliding and full
 * layers), Nemotron-H (layers of one block: Mamba-2 states, an attention layer's keys and values, MLP and mixture
 * layers with no cache entry at all) and Gemma 4 (kv-shared layers attending over an earlier layer's cached keys and
 * values with no cache entry of their own, full layers with heads of their own size, per-layer inputs looked up by
 * each row's new tokens; its mixture of experts beside the MLP, routed per token), and DeepSeek-V3 and V2 without query
 * LoRA (latent attention decoding in latent space over each row's cached latents, kv_b_proj without an adapter). Each
 * completion equals core's Generator on the request alone.
 */
class DenseFamiliesServingTest {

    @ParameterizedTest
    @ValueSource(strings = {"references/granite", "references/olmo3", "references/smollm3", "references/qwen3_5",
            "references/granite4_h", "references/granite4_h_moe", "references/glm4", "references/ernie4_5",
            "references/cohere2", "references/exaone4", "references/hunyuan_v1_dense", "references/starcoder2",
            "references/lfm2_moe", "references/glm4_moe", "references/ernie4_5_moe", "references/qwen3_vl",
            "references/qwen3_vl_moe", "references/falcon_h1", "references/apertus",
            "references/ministral3", "references/mistral3", "references/ministral",
            "references/nemotron_h", "references/nemotron_h_moe",
            "references/gemma4_text", "references/gemma4_text_moe",
            "references/deepseek_v3_lite", "references/deepseek_v2_lite"})
    void batchedRequestsEqualEachRequestAlone(String model, @TempDir Path tmp) throws Exception {
        Path qv = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(4).loraAlpha(16).targetModules("q_proj", "v_proj"),
                1, tmp.resolve("qv"));
        Path ko = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(8).loraAlpha(8).targetModules("k_proj", "o_proj"),
                2, tmp.resolve("ko"));
        try (LanguageModel base = ServeFixtures.load(model);
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(5).stepTokenBudget(7).build()) {
            engine.loadAdapter("qv", qv);
            engine.loadAdapter("ko", ko);
            ServeFixtures.assertBatchedRequestsEqualEachAlone(model, engine, Map.of("qv", qv, "ko", ko));
        }
    }

    /**
     * Qwen3.5, Qwen3-Next, Granite 4.0 H, LFM2, Falcon-H1 and Nemotron-H with adapters on their recurrent layers' projections (the
     * rows' states stay apart under each adapter), and DeepSeek-V2, V3 and Mistral 4 on their latent attention's (the cache holds
     * each row's latents, which kv_b_proj's per-row adapters expand where the rows' adapters differ and fold into the
     * absorbed weight where one adapter serves every row; Mistral 4's queries scaled by each row's own positions), and
     * Gemma 4
     * with its mixture beside the MLP on the dense MLP and the router's {@code proj}, which read the batch's rows
     * ({@link ExpertAdaptersServingTest} serves adapters on its experts).
     */
    @ParameterizedTest
    @CsvSource({"references/qwen3_5,in_proj_qkv in_proj_b,in_proj_z in_proj_a out_proj",
            "references/granite4_h,in_proj,out_proj q_proj", "references/lfm2,in_proj w1,out_proj q_proj w2",
            "references/qwen3_next,in_proj_qkvz in_proj_ba,out_proj q_proj",
            "references/deepseek_v3,q_b_proj kv_b_proj,q_a_proj kv_a_proj_with_mqa o_proj",
            "references/deepseek_v3_lite,q_proj kv_b_proj,kv_a_proj_with_mqa o_proj",
            "references/deepseek_v2,q_b_proj kv_b_proj,q_a_proj o_proj",
            "references/deepseek_v2_lite,q_proj kv_b_proj,kv_a_proj_with_mqa o_proj",
            "references/mistral4,q_b_proj kv_b_proj,q_a_proj kv_a_proj_with_mqa o_proj",
            "references/falcon_h1,in_proj q_proj,v_proj o_proj",
            "references/nemotron_h,in_proj q_proj,up_proj o_proj",
            "references/gemma4_text_moe,q_proj gate_proj proj,k_proj down_proj"})
    void ownProjectionAdaptersServeBatched(String model, String first, String second, @TempDir Path tmp) throws Exception {
        Path a = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(4).loraAlpha(16)
                .targetModules(first.split(" ")), 1, tmp.resolve("a"));
        Path b = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(8).loraAlpha(8)
                .targetModules(second.split(" ")), 2, tmp.resolve("b"));
        try (LanguageModel base = ServeFixtures.load(model);
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(3).stepTokenBudget(5).build()) {
            engine.loadAdapter("a", a);
            engine.loadAdapter("b", b);
            ServeFixtures.assertBatchedRequestsEqualEachAlone(model, engine, Map.of("a", a, "b", b));
        }
    }

    /**
     * DoRA on DeepSeek-V3's kv_b_proj, its magnitudes moved off their initial norms so that its scale is not 1: a batch
     * whose rows all use it folds its rescaled weight into the absorbed attention, mixed batches expand, and each
     * completion equals the request alone.
     */
    @Test
    void doraOnKvBProjServesBatched(@TempDir Path tmp) throws Exception {
        String model = "references/deepseek_v3";
        Path dora = tmp.resolve("dora");
        try (LanguageModel base = ServeFixtures.load(model)) {
            PeftModel adapted = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(16).useDora(true)
                    .initLoraWeights(LoraInit.RANDOM).targetModules("kv_b_proj").build(), 1);
            for (Module module : adapted.base().namedModules().values()) {
                if (module instanceof LoraLinear layer) {
                    float[] m = layer.doraMagnitude().toFloatArray();
                    for (int i = 0; i < m.length; i++) {
                        m[i] *= (float) (1 + 0.4 * Math.sin(i));
                    }
                    layer.doraMagnitude().copyFrom(m);
                }
            }
            adapted.save(dora);
        }
        try (LanguageModel base = ServeFixtures.load(model);
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(3).stepTokenBudget(5).build()) {
            engine.loadAdapter("dora", dora);
            ServeFixtures.assertBatchedRequestsEqualEachAlone(model, engine, Map.of("dora", dora));
        }
    }
}
