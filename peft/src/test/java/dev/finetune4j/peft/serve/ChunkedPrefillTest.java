package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Chunked prefill: a long prompt is read a step's token budget at a time while the running request keeps decoding
 * (one token per step), and both get the tokens they get alone.
 */
class ChunkedPrefillTest {
    private static final long[] SHORT_PROMPT = {1, 17, 42, 99, 5};
    private static final GenerationConfig LONG_ANSWER = GenerationConfig.greedy(100);
    private static final long[] LONG_PROMPT = ServeFixtures.prompt(100, 256, 7);
    private static final GenerationConfig SHORT_ANSWER = GenerationConfig.greedy(8);

    private LanguageModel base;

    @BeforeEach
    void loadModel() {
        base = ServeFixtures.load("llama");
    }

    @AfterEach
    void closeModel() {
        base.close();
    }

    @Test
    void aRunningStreamGetsATokenForEveryChunkOfALongPrompt() throws Exception {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch streaming = new CountDownLatch(3);
        // budget 5 with one running row: the 100-token prompt is read 4 tokens per step, in 25 steps
        try (InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(2).stepTokenBudget(5).build()) {
            CompletionHandle running = engine.submit(new CompletionRequest(null, SHORT_PROMPT, LONG_ANSWER), t -> {
                events.add("running");
                streaming.countDown();
            });
            assertTrue(streaming.await(60, TimeUnit.SECONDS));
            int before = events.size();
            CompletionHandle arriving = engine.submit(new CompletionRequest(null, LONG_PROMPT, SHORT_ANSWER),
                    t -> events.add("arriving"));
            Completion longPrompt = arriving.completion().get(60, TimeUnit.SECONDS);
            Completion longAnswer = running.completion().get(60, TimeUnit.SECONDS);

            List<String> snapshot = List.copyOf(events);
            int firstOfArriving = snapshot.indexOf("arriving");
            long tokensWhileReading = snapshot.subList(before, firstOfArriving).stream().filter("running"::equals).count();
            // 25 steps from admission to the first token; admission comes after submission, so at least 24 are seen
            assertTrue(tokensWhileReading >= 24, "the running stream got " + tokensWhileReading + " tokens while the "
                    + "100-token prompt was read in chunks of 4; read in one piece it would get at most one");
            assertArrayEquals(ServeFixtures.generateAlone("llama", null, LONG_PROMPT, SHORT_ANSWER), longPrompt.tokens());
            assertArrayEquals(ServeFixtures.generateAlone("llama", null, SHORT_PROMPT, LONG_ANSWER), longAnswer.tokens());
        }
    }

    @Test
    void aRequestCancelledWhileItsPromptIsReadEndsWithoutTokensAndFreesItsReservation() throws Exception {
        CountDownLatch submitted = new CountDownLatch(1);
        CountDownLatch paused = new CountDownLatch(1);
        CountDownLatch cancelled = new CountDownLatch(1);
        AtomicInteger seen = new AtomicInteger();
        // budget 2 with one running row: the prompt is read one token per step. The running request's listener holds
        // the engine at its 3rd token until the long prompt is submitted, and at its 8th (the prompt then read 4 of
        // its 100 tokens) until it is cancelled.
        try (InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(2).stepTokenBudget(2).build()) {
            CompletionHandle running = engine.submit(new CompletionRequest(null, SHORT_PROMPT, LONG_ANSWER), t -> {
                int n = seen.incrementAndGet();
                if (n == 3) {
                    await(submitted);
                } else if (n == 8) {
                    paused.countDown();
                    await(cancelled);
                }
            });
            CompletionHandle arriving;
            try {
                arriving = engine.submit(new CompletionRequest(null, LONG_PROMPT, SHORT_ANSWER), TokenListener.NONE);
            } finally {
                submitted.countDown();
            }
            assertTrue(paused.await(60, TimeUnit.SECONDS));
            arriving.cancel();
            cancelled.countDown();
            Completion cancelledCompletion = arriving.completion().get(60, TimeUnit.SECONDS);
            assertEquals(FinishReason.CANCELLED, cancelledCompletion.finishReason());
            assertEquals(0, cancelledCompletion.tokens().length);
            assertNull(cancelledCompletion.timeToFirstToken());

            Completion longAnswer = running.completion().get(60, TimeUnit.SECONDS);
            assertArrayEquals(ServeFixtures.generateAlone("llama", null, SHORT_PROMPT, LONG_ANSWER), longAnswer.tokens());
            EngineMetrics m = engine.metrics();
            assertEquals(0, m.runningRequests());
            assertEquals(0, m.kvCacheTokensInUse());
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aBudgetBelowTheBatchSizeIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InferenceEngine.builder(base).maxBatchSize(8).stepTokenBudget(7).build());
        assertTrue(e.getMessage().contains("stepTokenBudget 7 is below maxBatchSize 8"), e.getMessage());
    }
}
