package dev.finetune4j.peft.serve;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Map;

/**
 * The newer dense families in the engine, requests batched over two attention adapters and the bare base, prompts
 * read in chunks of up to 7 tokens: Granite (its multipliers), Olmo 3 (norms after the sub-blocks, q/k norms across
 * heads, a sliding window of 6 over the cached keys with its own rotary table), SmolLM3 (a layer that rotates
 * neither its queries nor its cached keys) and Qwen3.5 (three linear-attention layers, whose per-row recurrent state
 * the engine carries through prefill chunks, joins and re-layouts of the batch). Each completion equals core's
 * Generator on the request alone.
 */
class DenseFamiliesServingTest {

    @ParameterizedTest
    @ValueSource(strings = {"references/granite", "references/olmo3", "references/smollm3", "references/qwen3_5"})
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

    /** Qwen3.5 with adapters on its linear-attention projections: the rows' states stay apart under each adapter. */
    @Test
    void linearAttentionAdaptersServeBatched(@TempDir Path tmp) throws Exception {
        String model = "references/qwen3_5";
        Path qkv = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(4).loraAlpha(16)
                .targetModules("in_proj_qkv", "in_proj_b"), 1, tmp.resolve("qkv"));
        Path out = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(8).loraAlpha(8)
                .targetModules("in_proj_z", "in_proj_a", "out_proj"), 2, tmp.resolve("out"));
        try (LanguageModel base = ServeFixtures.load(model);
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(3).stepTokenBudget(5).build()) {
            engine.loadAdapter("qkv", qkv);
            engine.loadAdapter("out", out);
            ServeFixtures.assertBatchedRequestsEqualEachAlone(model, engine, Map.of("qkv", qkv, "out", out));
        }
    }
}
