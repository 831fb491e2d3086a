package dev.finetune4j.peft.serve;

import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 16 concurrent requests over 4 adapters and the bare base, joining and leaving the running batch at different
 * steps: every completion equals, token for token, what core's Generator gives the same request alone (greedy and
 * seeded sampling, which would diverge at the first logit that differs in its last bit). With a step token budget of
 * 7 the prompts (2 to 30 tokens) are read in chunks of 1 to 7 tokens, a different split in each step. Under
 * {@link Precision#BF16_MIXED} too, against the request alone in that precision. And for a model whose layers see
 * only the last 3 keys (a sliding window), which each row must count among its own positions in the shared cache.
 */
class BatchIndependenceTest {

    @ParameterizedTest(name = "{0}, batch of at most {1}, {2} tokens per step, {3}")
    @CsvSource({"llama, 16, 256, F32", "llama, 5, 256, F32", "gpt2, 16, 256, F32", "llama, 5, 7, F32", "gpt2, 5, 7, F32",
            "llama, 5, 7, BF16_MIXED", "gpt2, 5, 7, BF16_MIXED", ServeFixtures.SLIDING_WINDOW + ", 16, 256, F32",
            ServeFixtures.SLIDING_WINDOW + ", 5, 7, F32"})
    void everyCompletionEqualsTheRequestAlone(String model, int maxBatchSize, int stepTokenBudget, Precision precision,
                                              @TempDir Path tmp) throws Exception {
        Map<String, Path> adapters = adapters(model, tmp);
        List<String> names = new ArrayList<>(adapters.keySet());
        int n = 16;
        List<CompletionRequest> requests = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String adapter = i % 5 == 0 ? null : names.get(i % 5 - 1);
            GenerationConfig.Builder cfg = GenerationConfig.builder().maxNewTokens(6 + (i * 7) % 30);
            if (i % 4 == 3) {
                cfg.temperature(0.9f).topK(40).topP(0.95f).repetitionPenalty(1.3f).seed(100 + i);
            }
            requests.add(new CompletionRequest(adapter, ServeFixtures.prompt(2 + (i * 5) % 29, 256, i), cfg.build()));
        }
        List<long[]> alone = new ArrayList<>();
        try (var p = precision.use()) {
            for (CompletionRequest r : requests) {
                alone.add(ServeFixtures.generateAlone(model, r.adapter() == null ? null : adapters.get(r.adapter()),
                        r.promptTokens(), r.sampling()));
            }
        }

        List<Integer> tokenOrder = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch firstWaveStreaming = new CountDownLatch(3);
        List<CompletableFuture<Completion>> futures = new ArrayList<>(Collections.nCopies(n, null));
        List<List<Long>> streamed = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            streamed.add(Collections.synchronizedList(new ArrayList<>()));
        }
        try (LanguageModel base = ServeFixtures.load(model);
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(maxBatchSize)
                     .stepTokenBudget(stepTokenBudget).precision(precision).build()) {
            adapters.forEach(engine::loadAdapter);
            // the first half starts, the second half joins from 8 threads while it streams
            for (int i = 0; i < n / 2; i++) {
                int id = i;
                futures.set(i, engine.submit(requests.get(i), t -> {
                    streamed.get(id).add(t);
                    tokenOrder.add(id);
                    if (id == 0) {
                        firstWaveStreaming.countDown();
                    }
                }).completion());
            }
            assertTrue(firstWaveStreaming.await(60, TimeUnit.SECONDS));
            List<Thread> threads = new ArrayList<>();
            for (int i = n / 2; i < n; i++) {
                int id = i;
                threads.add(Thread.ofPlatform().start(() -> futures.set(id, engine.submit(requests.get(id), t -> {
                    streamed.get(id).add(t);
                    tokenOrder.add(id);
                }).completion())));
            }
            for (Thread t : threads) {
                t.join();
            }
            for (int i = 0; i < n; i++) {
                Completion c = futures.get(i).get(60, TimeUnit.SECONDS);
                assertArrayEquals(alone.get(i), c.tokens(), "request " + i + " (adapter " + requests.get(i).adapter() + ")");
                assertEquals(FinishReason.LENGTH, c.finishReason());
                assertArrayEquals(c.tokens(), streamed.get(i).stream().mapToLong(Long::longValue).toArray(),
                        "request " + i + ": the listener saw the completion's tokens in order");
            }
            EngineMetrics m = engine.metrics();
            assertEquals(n, m.completedRequests());
            long tokens = alone.stream().mapToLong(a -> a.length).sum();
            assertEquals(tokens, m.generatedTokens());
            assertEquals(n, m.timeToFirstToken().count());
            assertEquals(tokens - n, m.interTokenLatency().count());
            assertTrue(m.timeToFirstToken().p50Millis() <= m.timeToFirstToken().p99Millis());
            assertEquals(Map.of("", 4L, names.get(0), 3L, names.get(1), 3L, names.get(2), 3L, names.get(3), 3L),
                    m.requestsByAdapter());
            assertEquals(0, m.runningRequests());
            assertEquals(0, m.kvCacheTokensInUse());
        }
        assertTrue(interleaved(tokenOrder), "requests shared decoding steps: " + tokenOrder);
    }

    /**
     * Phi-3's longrope judges each row of a batch as if it were alone: a prompt past the switch, read in chunks, takes
     * the long factors from its first chunk; a request that outgrows the switch while decoding has its cache
     * recomputed (as transformers' generate does); a short request batched with long ones keeps the short factors.
     * Each completion equals core's Generator on the request alone.
     */
    @ParameterizedTest(name = "batch of at most {0}, {1} tokens per step")
    @CsvSource({"16, 256", "3, 4"})
    void longropeRowsSwitchAsIfAlone(int maxBatchSize, int stepTokenBudget) throws Exception {
        String model = ServeFixtures.LONGROPE;
        // {prompt, new tokens}: stays short; crosses while decoding; starts long; crosses at its first step; crosses
        // late; stays short
        int[][] shapes = {{3, 4}, {4, 10}, {12, 6}, {8, 5}, {2, 20}, {7, 1}};
        List<CompletionRequest> requests = new ArrayList<>();
        List<long[]> alone = new ArrayList<>();
        for (int i = 0; i < shapes.length; i++) {
            GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(shapes[i][1]).build();
            CompletionRequest r = new CompletionRequest(null, ServeFixtures.prompt(shapes[i][0], 256, 40 + i), cfg);
            requests.add(r);
            alone.add(ServeFixtures.generateAlone(model, null, r.promptTokens(), cfg));
        }
        try (LanguageModel base = ServeFixtures.load(model);
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(maxBatchSize)
                     .stepTokenBudget(stepTokenBudget).build()) {
            List<CompletableFuture<Completion>> futures = new ArrayList<>();
            for (CompletionRequest r : requests) {
                futures.add(engine.submit(r, t -> { }).completion());
            }
            for (int i = 0; i < requests.size(); i++) {
                Completion c = futures.get(i).get(60, TimeUnit.SECONDS);
                assertArrayEquals(alone.get(i), c.tokens(), "request " + i + " " + Arrays.toString(shapes[i]));
            }
        }
    }

    /** Four adapters: Python PEFT's LoRA and DoRA fixtures and two saved here (other targets and ranks, rsLoRA). */
    static Map<String, Path> adapters(String model, Path tmp) {
        Map<String, Path> out = new LinkedHashMap<>();
        out.put("python-peft", ServeFixtures.model(model).resolve("lora"));
        if (model.equals("gpt2")) {
            out.put("attn", ServeFixtures.saveAdapter(model, LoraConfig.builder().r(4).loraAlpha(16).targetModules("c_attn"), 1, tmp.resolve("attn")));
            out.put("rs", ServeFixtures.saveAdapter(model, LoraConfig.builder().r(12).loraAlpha(8).useRslora(true)
                    .targetModules("c_attn", "c_proj", "c_fc"), 2, tmp.resolve("rs")));
            out.put("python-dora", ServeFixtures.model(model).resolve("dora"));
        } else {
            out.put("qv", ServeFixtures.saveAdapter(model, LoraConfig.builder().r(4).loraAlpha(16).targetModules("q_proj", "v_proj"), 1, tmp.resolve("qv")));
            out.put("rs", ServeFixtures.saveAdapter(model, LoraConfig.builder().r(12).loraAlpha(8).useRslora(true)
                    .targetModules("q_proj", "k_proj", "o_proj", "up_proj"), 2, tmp.resolve("rs")));
            out.put("python-dora", ServeFixtures.model(model).resolve("dora"));
        }
        return out;
    }

    /** Whether some request produced a token between two tokens of another (they were decoded in one batch). */
    static boolean interleaved(List<Integer> order) {
        Map<Integer, int[]> span = new LinkedHashMap<>();
        for (int i = 0; i < order.size(); i++) {
            span.computeIfAbsent(order.get(i), k -> new int[]{Integer.MAX_VALUE, -1});
            int[] s = span.get(order.get(i));
            s[0] = Math.min(s[0], i);
            s[1] = Math.max(s[1], i);
        }
        for (int i = 0; i < order.size(); i++) {
            int[] s = span.get(order.get(i));
            for (int[] other : span.values()) {
                if (other != s && other[0] < i && i < other[1]) {
                    return true;
                }
            }
        }
        return Arrays.asList(order.toArray()).isEmpty();
    }
}
