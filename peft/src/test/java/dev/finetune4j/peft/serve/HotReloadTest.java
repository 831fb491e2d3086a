package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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

/**
 * A new version of an adapter loaded while 16 requests stream with the old one: they finish with the version they
 * started with, requests submitted afterwards get the new one, and unloading it leaves those in flight alone.
 */
class HotReloadTest {
    private static final int N = 16;

    @Test
    void runningRequestsKeepTheirVersionAndNewOnesGetTheNewOne(@TempDir Path tmp) throws Exception {
        LoraConfig.Builder config = LoraConfig.builder().r(4).loraAlpha(16).targetModules("q_proj", "v_proj", "down_proj");
        Path v1 = ServeFixtures.saveAdapter("llama", config, 1, tmp.resolve("v1"));
        Path v2 = ServeFixtures.saveAdapter("llama", config, 2, tmp.resolve("v2"));
        GenerationConfig greedy = GenerationConfig.greedy(30);
        List<long[]> prompts = new ArrayList<>();
        List<long[]> withV1 = new ArrayList<>();
        List<long[]> withV2 = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            prompts.add(ServeFixtures.prompt(3 + i, 256, 50 + i));
            withV1.add(ServeFixtures.generateAlone("llama", v1, prompts.get(i), greedy));
            withV2.add(ServeFixtures.generateAlone("llama", v2, prompts.get(i), greedy));
            assertFalse(Arrays.equals(withV1.get(i), withV2.get(i)), "prompt " + i + ": the two versions must differ");
        }
        CountDownLatch allStreaming = new CountDownLatch(1);
        CountDownLatch reloaded = new CountDownLatch(1);
        AtomicInteger started = new AtomicInteger();
        try (LanguageModel base = ServeFixtures.load("llama"); InferenceEngine engine = InferenceEngine.builder(base).build()) {
            engine.loadAdapter("a", v1);
            List<CompletableFuture<Completion>> old = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                AtomicInteger seen = new AtomicInteger();
                old.add(engine.submit(new CompletionRequest("a", prompts.get(i), greedy), t -> {
                    // the decode thread holds here, between steps, once every request has its first token
                    if (seen.incrementAndGet() == 1 && started.incrementAndGet() == N) {
                        allStreaming.countDown();
                        await(reloaded);
                    }
                }).completion());
            }
            assertTrue(allStreaming.await(60, TimeUnit.SECONDS));
            assertTrue(old.stream().noneMatch(CompletableFuture::isDone), "all 16 requests are in flight during the reload");
            engine.loadAdapter("a", v2);
            List<CompletableFuture<Completion>> fresh = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                fresh.add(engine.submit(new CompletionRequest("a", prompts.get(i), greedy), TokenListener.NONE).completion());
            }
            reloaded.countDown();
            assertTrue(engine.unloadAdapter("a"));
            assertThrows(UnknownAdapterException.class,
                    () -> engine.submit(new CompletionRequest("a", prompts.get(0), greedy), TokenListener.NONE));
            for (int i = 0; i < N; i++) {
                assertArrayEquals(withV1.get(i), old.get(i).get(60, TimeUnit.SECONDS).tokens(), "request " + i + " started with v1");
                assertArrayEquals(withV2.get(i), fresh.get(i).get(60, TimeUnit.SECONDS).tokens(), "request " + i + " submitted after v2");
            }
            assertEquals(List.of(), engine.adapterNames());
            assertEquals(2L * N, engine.metrics().requestsByAdapter().get("a"));
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(60, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
