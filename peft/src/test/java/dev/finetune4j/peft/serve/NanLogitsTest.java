package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An adapter whose weights are NaN (a diverged fine-tune) fails its own requests, greedy and sampled, with a message
 * naming it; requests of the base model decoded beside them get their tokens.
 */
class NanLogitsTest {
    private static final long[] PROMPT = {1, 17, 42, 99, 5};

    @Test
    void aNanAdapterFailsItsOwnRequestsOnly(@TempDir Path tmp) throws Exception {
        Path broken = ServeFixtures.saveAdapter("llama", LoraConfig.builder().r(2).targetModules("q_proj", "v_proj"), 3,
                tmp.resolve("broken"));
        fillWithNaN(broken.resolve("adapter_model.safetensors"));
        GenerationConfig greedy = GenerationConfig.greedy(12);
        GenerationConfig sampled = GenerationConfig.builder().maxNewTokens(12).temperature(0.8f).seed(5).build();
        long[] alone = ServeFixtures.generateAlone("llama", null, PROMPT, greedy);
        try (LanguageModel base = ServeFixtures.load("llama");
             InferenceEngine engine = InferenceEngine.builder(base).build()) {
            engine.loadAdapter("broken", broken);
            var brokenGreedy = engine.submit(new CompletionRequest("broken", PROMPT, greedy), TokenListener.NONE);
            var brokenSampled = engine.submit(new CompletionRequest("broken", PROMPT, sampled), TokenListener.NONE);
            var healthy = engine.submit(new CompletionRequest(null, PROMPT, greedy), TokenListener.NONE);

            assertArrayEquals(alone, healthy.completion().join().tokens());
            for (var handle : java.util.List.of(brokenGreedy, brokenSampled)) {
                CompletionException e = assertThrows(CompletionException.class, () -> handle.completion().join());
                assertInstanceOf(IllegalStateException.class, e.getCause());
                assertTrue(e.getCause().getMessage().contains("adapter 'broken'")
                        && e.getCause().getMessage().contains("NaN"), e.getCause().getMessage());
            }
        }
    }

    /** In a decoding step, the row whose logits hold NaN gets a failure; the rows beside it, greedy or not, a token. */
    @Test
    void aNanRowOfAStepFailsThatRowAlone() {
        GenerationConfig greedy = GenerationConfig.greedy(4);
        GenerationConfig penalised = GenerationConfig.builder().maxNewTokens(4).repetitionPenalty(1.5f).build();
        ActiveRequest[] rows = {request(greedy), request(greedy), null, request(penalised)};
        try (var scope = TensorScope.open()) {
            Tensor logits = Tensor.of(new float[]{
                    0.1f, 2.0f, 0.3f, -1f,
                    0.5f, Float.NaN, 0.2f, 0.1f,
                    0, 0, 0, 0,             // a free slot
                    3.0f, 0.0f, 0.1f, 0.2f}, 4, 4);
            NextToken[] next = NextToken.of(logits, rows);
            assertEquals(1, next[0].token());
            assertInstanceOf(IllegalStateException.class, next[1].failure());
            assertEquals(null, next[2]);
            assertEquals(0, next[3].token()); // 3.0 / 1.5 = 2.0 is still the largest
        }
    }

    private static ActiveRequest request(GenerationConfig cfg) {
        return new ActiveRequest(new CompletionRequest(null, new long[]{0}, cfg), null, TokenListener.NONE, 0,
                java.time.Duration.ofMinutes(1), 5);
    }

    /** Every float32 value of a safetensors file becomes NaN (the adapter's tensors are all float32). */
    private static void fillWithNaN(Path file) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long header = b.getLong(0);
        String json = new String(bytes, 8, (int) header, java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(!json.contains("\"BF16\"") && !json.contains("\"F16\""), json);
        for (int at = 8 + (int) header; at + 4 <= bytes.length; at += 4) {
            b.putFloat(at, Float.NaN);
        }
        Files.write(file, bytes);
    }
}
