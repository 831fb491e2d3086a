package dev.finetune4j.peft.serve;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A mixture of experts in the engine: routing is per token, so requests batched together (prompts read in chunks
 * of up to 7 tokens, two attention adapters and the bare base) each get the tokens core's Generator gives them alone.
 * An adapter that changes a layer inside the mixture (an expert, gpt-oss's router) is refused, since the experts see
 * tokens grouped by expert rather than the batch's rows, and the engine goes on serving. For Qwen2-MoE (a shared
 * expert, a dense layer) and gpt-oss (attention sinks and a sliding window over the cached keys).
 */
class MixtureOfExpertsServingTest {

    @ParameterizedTest
    @CsvSource({ServeFixtures.MIXTURE + ",up_proj", ServeFixtures.GPT_OSS + ",router"})
    void batchedRequestsEqualEachRequestAloneAndExpertAdaptersAreRefused(String model, String insideTheMixture,
                                                                          @TempDir Path tmp) throws Exception {
        Path qv = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(4).loraAlpha(16).targetModules("q_proj", "v_proj"),
                1, tmp.resolve("qv"));
        Path ko = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(8).loraAlpha(8).targetModules("k_proj", "o_proj"),
                2, tmp.resolve("ko"));
        Path experts = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(4).targetModules("q_proj",
                insideTheMixture), 3, tmp.resolve("experts"));
        try (LanguageModel base = ServeFixtures.load(model);
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(5).stepTokenBudget(7).build()) {
            engine.loadAdapter("qv", qv);
            engine.loadAdapter("ko", ko);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> engine.loadAdapter("experts", experts));
            assertTrue(e.getMessage().contains("inside a mixture of experts") && e.getMessage().contains(insideTheMixture),
                    e.getMessage());
            assertEquals(List.of("ko", "qv"), engine.adapterNames().stream().sorted().toList());
            ServeFixtures.assertBatchedRequestsEqualEachAlone(model, engine, Map.of("qv", qv, "ko", ko));
        }
    }

    /** gpt-oss's stacked experts adapted (PEFT's target_parameters): refused, and the engine goes on serving. */
    @Test
    void stackedExpertAdaptersAreRefused(@TempDir Path tmp) throws Exception {
        Path experts = ServeFixtures.saveAdapter(ServeFixtures.GPT_OSS, LoraConfig.builder().r(2)
                .targetParameters("mlp.experts.down_proj"), 4, tmp.resolve("experts"));
        try (LanguageModel base = ServeFixtures.load(ServeFixtures.GPT_OSS);
             InferenceEngine engine = InferenceEngine.builder(base).build()) {
            PeftException e = assertThrows(PeftException.class, () -> engine.loadAdapter("experts", experts));
            assertTrue(e.getMessage().contains("target_parameters [mlp.experts.down_proj]")
                    && e.getMessage().contains("finetune4j merge"), e.getMessage());
            assertEquals(List.of(), engine.adapterNames());
        }
    }
}
