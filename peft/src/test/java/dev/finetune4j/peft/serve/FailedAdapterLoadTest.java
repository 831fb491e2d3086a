package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Fixtures;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An adapter the engine cannot load, whether it fails halfway through injection or with a pattern that backtracks
 * without end, leaves the engine serving and able to load the next adapter.
 */
class FailedAdapterLoadTest {
    private static final long[] PROMPT = {1, 17, 42, 99, 5};
    private static final GenerationConfig GREEDY = GenerationConfig.greedy(12);

    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aFailedLoadLeavesTheEngineServingAndLoading(@TempDir Path tmp) throws Exception {
        Path halfway = Fixtures.adapterWith("llama/lora", tmp.resolve("halfway"),
                Map.of("target_modules", "[\"k_proj\"]", "modules_to_save", "[\"embed_tokens\"]"));
        Path backtracking = Fixtures.adapterWith("llama/lora", tmp.resolve("backtracking"),
                Map.of("target_modules", "\"(.*){12}!\""));
        Path good = ServeFixtures.saveAdapter("llama", LoraConfig.builder().r(4).targetModules("q_proj", "v_proj"), 1,
                tmp.resolve("good"));
        long[] withGood = ServeFixtures.generateAlone("llama", good, PROMPT, GREEDY);
        try (LanguageModel base = ServeFixtures.load("llama"); InferenceEngine engine = InferenceEngine.builder(base).build()) {
            PeftException e = assertThrows(PeftException.class, () -> engine.loadAdapter("halfway", halfway));
            assertTrue(e.getMessage().contains("embed_tokens"), e.getMessage());
            e = assertThrows(PeftException.class, () -> engine.loadAdapter("backtracking", backtracking));
            assertTrue(e.getMessage().contains("backtracks"), e.getMessage());
            engine.loadAdapter("good", good);
            assertEquals(List.of("good"), engine.adapterNames());
            Completion c = engine.submit(new CompletionRequest("good", PROMPT, GREEDY), TokenListener.NONE)
                    .completion().get(60, TimeUnit.SECONDS);
            assertArrayEquals(withGood, c.tokens());
        }
    }
}
