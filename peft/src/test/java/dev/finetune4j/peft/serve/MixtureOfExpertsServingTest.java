package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A mixture of experts in the engine: routing is per token, so requests batched together (prompts read in chunks
 * of up to 7 tokens, two attention adapters and the bare base) each get the tokens core's Generator gives them alone.
 * An adapter that changes an expert is refused, since the experts see tokens grouped by expert rather than the
 * batch's rows, and the engine goes on serving.
 */
class MixtureOfExpertsServingTest {
    private static final String MODEL = ServeFixtures.MIXTURE;

    @Test
    void batchedRequestsEqualEachRequestAloneAndExpertAdaptersAreRefused(@TempDir Path tmp) throws Exception {
        Path qv = ServeFixtures.saveAdapter(MODEL, LoraConfig.builder().r(4).loraAlpha(16).targetModules("q_proj", "v_proj"),
                1, tmp.resolve("qv"));
        Path ko = ServeFixtures.saveAdapter(MODEL, LoraConfig.builder().r(8).loraAlpha(8).targetModules("k_proj", "o_proj"),
                2, tmp.resolve("ko"));
        Path experts = ServeFixtures.saveAdapter(MODEL, LoraConfig.builder().r(4).targetModules("q_proj", "up_proj"), 3,
                tmp.resolve("experts"));
        String[] adapters = {null, "qv", "ko"};
        List<CompletionRequest> requests = new ArrayList<>();
        List<long[]> alone = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            String adapter = adapters[i % 3];
            GenerationConfig cfg = GenerationConfig.greedy(4 + i % 5);
            CompletionRequest r = new CompletionRequest(adapter, ServeFixtures.prompt(3 + (i * 4) % 17, 256, 60 + i), cfg);
            requests.add(r);
            alone.add(ServeFixtures.generateAlone(MODEL, adapter == null ? null : adapter.equals("qv") ? qv : ko,
                    r.promptTokens(), cfg));
        }
        try (LanguageModel base = ServeFixtures.load(MODEL);
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(5).stepTokenBudget(7).build()) {
            engine.loadAdapter("qv", qv);
            engine.loadAdapter("ko", ko);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> engine.loadAdapter("experts", experts));
            assertTrue(e.getMessage().contains("inside a mixture of experts") && e.getMessage().contains("up_proj"),
                    e.getMessage());
            assertEquals(List.of("ko", "qv"), engine.adapterNames().stream().sorted().toList());
            List<CompletableFuture<Completion>> futures = new ArrayList<>();
            for (CompletionRequest r : requests) {
                futures.add(engine.submit(r, TokenListener.NONE).completion());
            }
            for (int i = 0; i < requests.size(); i++) {
                assertArrayEquals(alone.get(i), futures.get(i).get(60, TimeUnit.SECONDS).tokens(),
                        "request " + i + " (adapter " + requests.get(i).adapter() + ")");
            }
        }
    }
}
