package dev.finetune4j.peft.serve;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Map;

/**
 * A mixture of experts in the engine: routing is per token, so requests batched together (prompts read in chunks
 * of up to 7 tokens, two attention adapters, an adapter on layers inside the mixture and the bare base) each get the
 * tokens core's Generator gives them alone. For Qwen2-MoE (its {@code up_proj} in every routed expert, the shared
 * expert and the dense layer) and gpt-oss (its router; attention sinks and a sliding window over the cached keys).
 * {@link ExpertAdaptersServingTest} checks the experts' adapters against the logits of each alone and merged.
 */
class MixtureOfExpertsServingTest {

    @ParameterizedTest
    @CsvSource({ServeFixtures.MIXTURE + ",up_proj", ServeFixtures.GPT_OSS + ",router"})
    void batchedRequestsEqualEachRequestAlone(String model, String insideTheMixture, @TempDir Path tmp) throws Exception {
        Path qv = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(4).loraAlpha(16).targetModules("q_proj", "v_proj"),
                1, tmp.resolve("qv"));
        Path ko = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(8).loraAlpha(8).targetModules("k_proj", "o_proj"),
                2, tmp.resolve("ko"));
        Path inside = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(4).targetModules("q_proj",
                insideTheMixture), 3, tmp.resolve("inside"));
        try (LanguageModel base = ServeFixtures.load(model);
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(5).stepTokenBudget(7).build()) {
            engine.loadAdapter("qv", qv);
            engine.loadAdapter("ko", ko);
            engine.loadAdapter("inside", inside);
            ServeFixtures.assertBatchedRequestsEqualEachAlone(model, engine, Map.of("qv", qv, "ko", ko, "inside", inside));
        }
    }
}
