package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Admission, the bounded queue, timeouts, cancellation, failing listeners, the KV cache budget, draining and close().
 */
class EngineLifecycleTest {
    private static final long[] PROMPT = {1, 17, 42, 99, 5};
    private static final GenerationConfig GREEDY = GenerationConfig.greedy(20);
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

    private static Completion join(CompletionHandle h) throws Exception {
        return h.completion().get(60, TimeUnit.SECONDS);
    }

    @Test
    void aFullQueueIsRefusedWithARetryEstimateAndDrainsAfterwards() throws Exception {
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(1).maxQueuedRequests(2).build()) {
            CompletionHandle running = engine.submit(new CompletionRequest(null, PROMPT, GREEDY), holding(holding, release));
            assertTrue(holding.await(60, TimeUnit.SECONDS));
            CompletionHandle q1 = engine.submit(new CompletionRequest(null, PROMPT, GREEDY), TokenListener.NONE);
            CompletionHandle q2 = engine.submit(new CompletionRequest(null, PROMPT, GREEDY), TokenListener.NONE);
            EngineOverloadedException e = assertThrows(EngineOverloadedException.class,
                    () -> engine.submit(new CompletionRequest(null, PROMPT, GREEDY), TokenListener.NONE));
            assertTrue(e.retryAfter().compareTo(Duration.ofSeconds(1)) >= 0, e.retryAfter().toString());
            assertTrue(e.getMessage().contains("maxQueuedRequests 2"), e.getMessage());
            EngineMetrics m = engine.metrics();
            assertEquals(2, m.queueDepth());
            assertEquals(1, m.runningRequests());
            assertEquals(PROMPT.length + 20, m.kvCacheTokensInUse());
            release.countDown();
            for (CompletionHandle h : List.of(running, q1, q2)) {
                assertArrayEquals(alone, join(h).tokens());
            }
        }
    }

    @Test
    void aRunningRequestTimesOutWithItsTokensSoFarAndAQueuedOneWithNone() throws Exception {
        try (InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(1).build()) {
            AtomicReference<CompletionHandle> behind = new AtomicReference<>();
            AtomicInteger seen = new AtomicInteger();
            CompletionHandle running = engine.submit(new CompletionRequest(null, PROMPT, GREEDY, List.of(), Duration.ofMillis(200)), t -> {
                if (seen.incrementAndGet() == 1) {
                    // a request submitted now waits behind this one; sleeping past both deadlines ends both
                    behind.set(engine.submit(new CompletionRequest(null, PROMPT, GREEDY, List.of(), Duration.ofMillis(50)),
                            TokenListener.NONE));
                    sleep(400);
                }
            });
            Completion c = join(running);
            assertEquals(FinishReason.TIMEOUT, c.finishReason());
            assertArrayEquals(Arrays.copyOf(alone, 1), c.tokens());
            assertNotNull(c.timeToFirstToken());
            Completion q = join(behind.get());
            assertEquals(FinishReason.TIMEOUT, q.finishReason());
            assertEquals(0, q.tokens().length);
            assertNull(q.timeToFirstToken());
        }
    }

    @Test
    void timeoutsLongerThanNanoTimeCanCountMeanNoLimit() throws Exception {
        Duration centuries = Duration.ofSeconds(10_000_000_000L); // 317 years: toNanos() overflows a long
        try (InferenceEngine engine = InferenceEngine.builder(base).defaultTimeout(centuries).build()) {
            Completion byDefault = join(engine.submit(new CompletionRequest(null, PROMPT, GREEDY), TokenListener.NONE));
            Completion longest = join(engine.submit(new CompletionRequest(null, PROMPT, GREEDY, List.of(),
                    Duration.ofSeconds(Long.MAX_VALUE, 999_999_999)), TokenListener.NONE));
            for (Completion c : List.of(byDefault, longest)) {
                assertEquals(FinishReason.LENGTH, c.finishReason());
                assertArrayEquals(alone, c.tokens());
            }
        }
    }

    @Test
    void cancellingEndsRunningAndQueuedRequestsWithTheirTokensSoFar() throws Exception {
        try (InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(1).build()) {
            AtomicReference<CompletionHandle> self = new AtomicReference<>();
            AtomicReference<CompletionHandle> behind = new AtomicReference<>();
            AtomicInteger seen = new AtomicInteger();
            self.set(engine.submit(new CompletionRequest(null, PROMPT, GREEDY), t -> {
                if (seen.incrementAndGet() == 1) {
                    behind.set(engine.submit(new CompletionRequest(null, PROMPT, GREEDY), TokenListener.NONE));
                    behind.get().cancel();
                }
                if (seen.get() == 3) {
                    self.get().cancel();
                }
            }));
            Completion c = join(self.get());
            assertEquals(FinishReason.CANCELLED, c.finishReason());
            assertArrayEquals(Arrays.copyOf(alone, 3), c.tokens());
            Completion q = join(behind.get());
            assertEquals(FinishReason.CANCELLED, q.finishReason());
            assertEquals(0, q.tokens().length);
            self.get().cancel(); // after the end: nothing happens
        }
    }

    @Test
    void aThrowingListenerCancelsOnlyItsOwnRequest() throws Exception {
        try (InferenceEngine engine = InferenceEngine.builder(base).build()) {
            AtomicInteger seen = new AtomicInteger();
            CompletionHandle failing = engine.submit(new CompletionRequest(null, PROMPT, GREEDY), t -> {
                if (seen.incrementAndGet() == 2) {
                    throw new IllegalStateException("client went away");
                }
            });
            AtomicInteger seenToo = new AtomicInteger();
            CompletionHandle asserting = engine.submit(new CompletionRequest(null, PROMPT, GREEDY), t -> {
                if (seenToo.incrementAndGet() == 3) {
                    throw new AssertionError("a test's assertion in a listener");
                }
            });
            CompletionHandle other = engine.submit(new CompletionRequest(null, PROMPT, GREEDY), TokenListener.NONE);
            Completion c = join(failing);
            assertEquals(FinishReason.CANCELLED, c.finishReason());
            assertArrayEquals(Arrays.copyOf(alone, 2), c.tokens());
            assertArrayEquals(Arrays.copyOf(alone, 3), join(asserting).tokens());
            assertArrayEquals(alone, join(other).tokens());
            assertEquals(FinishReason.LENGTH, join(other).finishReason());
        }
    }

    @Test
    void admissionWaitsForRoomInTheKvCacheBudget() throws Exception {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        int reservation = PROMPT.length + 20;
        try (InferenceEngine engine = InferenceEngine.builder(base).kvCacheBudgetTokens(reservation + 10).build()) {
            CompletionHandle first = engine.submit(new CompletionRequest(null, PROMPT, GREEDY), t -> events.add("first"));
            CompletionHandle second = engine.submit(new CompletionRequest(null, PROMPT, GREEDY), t -> events.add("second"));
            assertArrayEquals(alone, join(first).tokens());
            assertArrayEquals(alone, join(second).tokens());
            List<String> expected = new ArrayList<>(Collections.nCopies(20, "first"));
            expected.addAll(Collections.nCopies(20, "second"));
            assertEquals(expected, events, "the second request started only after the first freed its positions");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.submit(
                    new CompletionRequest(null, PROMPT, GenerationConfig.greedy(reservation + 10)), TokenListener.NONE));
            assertTrue(e.getMessage().contains("kvCacheBudgetTokens"), e.getMessage());
        }
    }

    @Test
    void closeCancelsEverythingJoinsTheThreadAndGivesTheModelBack() throws Exception {
        InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(1).build();
        engine.loadAdapter("python-peft", ServeFixtures.model("llama").resolve("lora"));
        CountDownLatch streaming = new CountDownLatch(1);
        CompletionHandle running = engine.submit(new CompletionRequest("python-peft", PROMPT, GenerationConfig.greedy(100)), t -> {
            streaming.countDown();
            sleep(5);
        });
        CompletionHandle queued = engine.submit(new CompletionRequest(null, PROMPT, GREEDY), TokenListener.NONE);
        assertTrue(streaming.await(60, TimeUnit.SECONDS));
        engine.close();
        assertTrue(running.completion().isDone() && queued.completion().isDone(), "close() returns after every request ended");
        Completion r = running.completion().join();
        assertEquals(FinishReason.CANCELLED, r.finishReason());
        assertTrue(r.tokens().length >= 1 && r.tokens().length < 100, "tokens so far: " + r.tokens().length);
        assertEquals(FinishReason.CANCELLED, queued.completion().join().finishReason());
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals("finetune4j-inference")),
                "the decode thread has ended");
        assertThrows(IllegalStateException.class, () -> engine.submit(new CompletionRequest(null, PROMPT, GREEDY), TokenListener.NONE));
        assertThrows(IllegalStateException.class, () -> engine.loadAdapter("a", ServeFixtures.model("llama").resolve("lora")));
        engine.close();
        assertTrue(base.namedModules().values().stream().noneMatch(MultiLoraLinear.class::isInstance), "wrappers taken out");
        long[] after = dev.finetune4j.core.generate.Generator.generate(base, PROMPT, GREEDY);
        assertArrayEquals(alone, Arrays.copyOfRange(after, PROMPT.length, after.length), "the base model works alone again");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
