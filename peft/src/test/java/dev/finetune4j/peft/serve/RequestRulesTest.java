package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.PeftException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stop sequences and stop tokens, and what submit and loadAdapter refuse. */
class RequestRulesTest {
    private static final long[] PROMPT = {1, 17, 42, 99, 5};
    private static long[] alone;
    private static LanguageModel base;
    private static InferenceEngine engine;

    @BeforeAll
    static void start() {
        alone = ServeFixtures.generateAlone("llama", null, PROMPT, GenerationConfig.greedy(24));
        base = ServeFixtures.load("llama");
        engine = InferenceEngine.builder(base).build();
    }

    @AfterAll
    static void stop() {
        engine.close();
        base.close();
    }

    private static Completion run(CompletionRequest r, List<Long> streamed) {
        return engine.submit(r, streamed::add).completion().join();
    }

    /** The end of the first occurrence of {@code s} in {@code tokens}. */
    private static int endOfFirst(long[] tokens, long[] s) {
        for (int end = s.length; end <= tokens.length; end++) {
            if (Arrays.equals(tokens, end - s.length, end, s, 0, s.length)) {
                return end;
            }
        }
        throw new AssertionError("not found");
    }

    @Test
    void aStopSequenceEndsTheRequestAndIsRemovedFromItsTokens() {
        long[] stop = Arrays.copyOfRange(alone, 5, 7);
        long[] never = {alone[0], alone[0], alone[0], alone[0], alone[0], alone[0], alone[0], alone[0]};
        int end = endOfFirst(alone, stop);
        List<Long> streamed = Collections.synchronizedList(new ArrayList<>());
        Completion c = run(new CompletionRequest(null, PROMPT, GenerationConfig.greedy(24), List.of(never, stop), null), streamed);
        assertEquals(FinishReason.STOP, c.finishReason());
        assertArrayEquals(Arrays.copyOf(alone, end - stop.length), c.tokens());
        assertEquals(end, streamed.size(), "the listener saw the stop sequence's tokens too");
    }

    @Test
    void aStopTokenEndsTheRequestAndStaysInItsTokens() {
        long stopToken = alone[3];
        int end = endOfFirst(alone, new long[]{stopToken});
        GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(24).stopTokens(Set.of(stopToken)).build();
        Completion c = run(new CompletionRequest(null, PROMPT, cfg), new ArrayList<>());
        assertEquals(FinishReason.STOP, c.finishReason());
        assertArrayEquals(Arrays.copyOf(alone, end), c.tokens());
    }

    @Test
    void zeroNewTokensEndsAtOnceWithLength() {
        Completion c = run(new CompletionRequest(null, PROMPT, GenerationConfig.greedy(0)), new ArrayList<>());
        assertEquals(FinishReason.LENGTH, c.finishReason());
        assertEquals(0, c.tokens().length);
        assertEquals(PROMPT.length, c.promptTokens());
    }

    @Test
    void theModelsPositionsLimitTheLength() {
        long[] longPrompt = ServeFixtures.prompt(120, 256, 9);
        Completion c = run(new CompletionRequest(null, longPrompt, GenerationConfig.greedy(50)), new ArrayList<>());
        assertEquals(FinishReason.LENGTH, c.finishReason());
        assertEquals(8, c.tokens().length, "128 positions (max_position_embeddings) - 120 prompt tokens");
    }

    @Test
    void maxPromptTokensIsTheLongestPromptSubmitAccepts() {
        assertEquals(127, engine.maxPromptTokens(), "128 positions, one left to generate");
        Completion longest = run(new CompletionRequest(null, ServeFixtures.prompt(127, 256, 3), GenerationConfig.greedy(4)),
                new ArrayList<>());
        assertEquals(1, longest.tokens().length);
        assertThrows(IllegalArgumentException.class, () -> engine.submit(
                new CompletionRequest(null, ServeFixtures.prompt(128, 256, 3), GenerationConfig.greedy(4)), TokenListener.NONE));
        try (InferenceEngine small = InferenceEngine.builder(base).kvCacheBudgetTokens(50).build()) {
            assertEquals(49, small.maxPromptTokens(), "a budget below the positions bounds the prompt");
        }
    }

    @Test
    void submitRefusesUnknownAdaptersAndInvalidPrompts() {
        UnknownAdapterException unknown = assertThrows(UnknownAdapterException.class,
                () -> engine.submit(new CompletionRequest("nope", PROMPT, GenerationConfig.greedy(4)), TokenListener.NONE));
        assertEquals("nope", unknown.adapter());
        assertTrue(unknown.getMessage().contains("loadAdapter"), unknown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new CompletionRequest(null, new long[0], GenerationConfig.greedy(4)));
        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class, () -> engine.submit(
                new CompletionRequest(null, ServeFixtures.prompt(128, 256, 1), GenerationConfig.greedy(4)), TokenListener.NONE));
        assertTrue(tooLong.getMessage().contains("max_position_embeddings"), tooLong.getMessage());
        IllegalArgumentException badId = assertThrows(IllegalArgumentException.class, () -> engine.submit(
                new CompletionRequest(null, new long[]{1, 256}, GenerationConfig.greedy(4)), TokenListener.NONE));
        assertTrue(badId.getMessage().contains("token 1 is 256, outside the vocabulary [0, 256)"), badId.getMessage());
        assertThrows(IllegalArgumentException.class, () -> engine.submit(
                new CompletionRequest(null, PROMPT, GenerationConfig.greedy(4), List.of(new long[]{-1}), null), TokenListener.NONE));
        assertThrows(IllegalArgumentException.class,
                () -> new CompletionRequest(null, PROMPT, GenerationConfig.greedy(4), List.of(new long[0]), null));
    }

    @Test
    void loadAdapterRefusesMethodsTheEngineDoesNotBatchAndKeepsServing() {
        PeftException ia3 = assertThrows(PeftException.class,
                () -> engine.loadAdapter("ia3", ServeFixtures.model("llama").resolve("ia3")));
        assertTrue(ia3.getMessage().contains("IA3") && ia3.getMessage().contains("LoRA"), ia3.getMessage());
        assertThrows(IllegalArgumentException.class, () -> engine.loadAdapter("", ServeFixtures.model("llama").resolve("lora")));
        assertThrows(PeftException.class, () -> engine.loadAdapter("missing", ServeFixtures.model("llama").resolve("no-such-folder")));
        assertEquals(List.of(), engine.adapterNames());
        Completion c = run(new CompletionRequest(null, PROMPT, GenerationConfig.greedy(24)), new ArrayList<>());
        assertArrayEquals(alone, c.tokens(), "the base model is intact after refused loads");
    }
}
