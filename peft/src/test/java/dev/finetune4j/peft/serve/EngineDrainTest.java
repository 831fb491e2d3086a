package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link InferenceEngine#drain}: no new requests, the running and queued ones finish, then close cancels the rest. */
class EngineDrainTest {
    private static final long[] PROMPT = {1, 17, 42, 99, 5};
    private static final GenerationConfig GREEDY = GenerationConfig.greedy(12);
    private static long[] alone;

    private LanguageModel base;

    @BeforeEach
    void loadModel() {
        base = ServeFixtures.load("llama");
        if (alone == null) {
            alone = ServeFixtures.generateAlone("llama", null, PROMPT, GREEDY);
        }
    }

    @AfterEach
    void closeModel() {
        base.close();
    }

    /** A listener that holds the decode thread at its first token until {@code release} opens. */
    private static TokenListener holding(CountDownLatch holding, CountDownLatch release) {
        AtomicInteger seen = new AtomicInteger();
        return t -> {
            if (seen.incrementAndGet() == 1) {
                holding.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
    }

    @Test
    void requestsInFlightFinishWhileNewOnesAreRefused() throws Exception {
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(1).build()) {
            CompletionHandle running = engine.submit(new CompletionRequest(null, PROMPT, GREEDY), holding(holding, release));
            assertTrue(holding.await(60, TimeUnit.SECONDS));
            CompletionHandle queued = engine.submit(new CompletionRequest(null, PROMPT, GREEDY), TokenListener.NONE);
            CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> {
                try {
                    return engine.drain(Duration.ofSeconds(60));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            while (!engine.draining()) {
                Thread.onSpinWait();
            }
            IllegalStateException refused = assertThrows(IllegalStateException.class,
                    () -> engine.submit(new CompletionRequest(null, PROMPT, GREEDY), TokenListener.NONE));
            assertTrue(refused.getMessage().contains("draining"), refused.getMessage());
            assertFalse(drained.isDone(), "two requests are still to finish");
            release.countDown();
            assertTrue(drained.get(60, TimeUnit.SECONDS));
            for (CompletionHandle h : List.of(running, queued)) {
                Completion c = h.completion().get(60, TimeUnit.SECONDS);
                assertEquals(FinishReason.LENGTH, c.finishReason(), "finished, not cancelled");
                assertArrayEquals(alone, c.tokens());
            }
            assertEquals(2, engine.metrics().completedByReason().get(FinishReason.LENGTH));
        }
    }

    @Test
    void aDrainThatTimesOutLeavesTheRestToClose() throws Exception {
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletionHandle stuck;
        try (InferenceEngine engine = InferenceEngine.builder(base).build()) {
            assertTrue(engine.drain(Duration.ZERO), "an idle engine drains at once");
            assertTrue(engine.draining());
        }
        try (InferenceEngine engine = InferenceEngine.builder(base).build()) {
            stuck = engine.submit(new CompletionRequest(null, PROMPT, GREEDY), holding(holding, release));
            assertTrue(holding.await(60, TimeUnit.SECONDS));
            assertFalse(engine.drain(Duration.ofMillis(100)), "the held request has not ended");
            release.countDown();
        }
        Completion c = stuck.completion().get(60, TimeUnit.SECONDS);
        assertTrue(c.finishReason() == FinishReason.CANCELLED || c.finishReason() == FinishReason.LENGTH, c.toString());
    }
}
