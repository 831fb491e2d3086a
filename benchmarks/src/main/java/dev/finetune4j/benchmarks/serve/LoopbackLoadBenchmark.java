package dev.finetune4j.benchmarks.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.benchmarks.memory.RandomCheckpoint;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.serve.InferenceEngine;
import dev.finetune4j.serve.OpenAiServer;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * A bounded load test of the OpenAI-compatible server on loopback: N clients (default 64) each stream
 * {@code /v1/completions} requests back to back for D seconds (default 60), then stop. The engine decodes 16
 * requests together and queues 32 more, so clients beyond that get 429 and wait for its Retry-After. At the end the
 * clients hang up mid-stream, and 10 seconds later the engine must have nothing left running or queued (the server
 * cancels the generation of a client that went away). Counts every status (and streams that ended without
 * {@code [DONE]}, which count as errors); samples the heap after the last
 * garbage collection (the live set), the committed heap and the process's RSS every 5 seconds after a 10-second
 * warm-up, to show that memory stays flat. The model is LLaMA-shaped with random weights (hidden 256, 4 layers, vocabulary 8000), served
 * without a tokenizer, so prompts are token ids; server and clients share this JVM.
 *
 * <pre>{@code java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx2g -cp ... \
 *     dev.finetune4j.benchmarks.serve.LoopbackLoadBenchmark [--clients 64] [--seconds 60] [--model DIR]}</pre>
 */
public final class LoopbackLoadBenchmark {
    private static final Duration WARM_UP = Duration.ofSeconds(10);
    private static final Duration SAMPLE_EVERY = Duration.ofSeconds(5);
    private static final int MAX_TOKENS = 32;

    private LoopbackLoadBenchmark() {
    }

    /**
     * Runs the load test and prints the memory samples and a summary as JSON lines.
     *
     * @param args {@code --clients N} (64), {@code --seconds D} (60), {@code --model DIR} (written once when missing)
     * @throws Exception when the model cannot be written or loaded, or the server cannot start
     */
    public static void main(String[] args) throws Exception {
        int clients = 64;
        int seconds = 60;
        Path dir = Path.of("target/serve-load-model");
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--clients" -> clients = Integer.parseInt(args[i + 1]);
                case "--seconds" -> seconds = Integer.parseInt(args[i + 1]);
                case "--model" -> dir = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + "; use --clients N --seconds D --model DIR");
            }
        }
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            RandomCheckpoint.write(dir, config(), 11);
        }
        try (LanguageModel model = AutoModel.loadCausalLM(dir);
             InferenceEngine engine = InferenceEngine.builder(model).maxBatchSize(16).maxQueuedRequests(32).build();
             OpenAiServer server = OpenAiServer.builder(engine).modelName("load").port(0).start()) {
            run(server.uri(), clients, Duration.ofSeconds(seconds), engine);
        }
    }

    /** A small LLaMA-shaped config: decoding, not HTTP, should be what each request mostly waits for. */
    private static ObjectNode config() {
        ObjectNode c = RandomCheckpoint.smallLlama();
        c.put("hidden_size", 256);
        c.put("intermediate_size", 704);
        c.put("num_hidden_layers", 4);
        c.put("num_attention_heads", 4);
        c.put("num_key_value_heads", 2);
        c.put("max_position_embeddings", 512);
        return c;
    }

    private static void run(URI uri, int clients, Duration length, InferenceEngine engine) throws Exception {
        Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();
        LongAdder tokens = new LongAdder();
        AtomicLong nextSeed = new AtomicLong();
        HttpClient http = HttpClient.newBuilder().executor(Executors.newVirtualThreadPerTaskExecutor()).build();
        long start = System.nanoTime();
        long end = start + length.toNanos();
        List<String> samples = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < clients; c++) {
                pool.submit(() -> {
                    SplittableRandom random = new SplittableRandom(nextSeed.incrementAndGet());
                    while (System.nanoTime() < end) {
                        String outcome = streamOnce(http, uri, random, tokens, end);
                        outcomes.computeIfAbsent(outcome, k -> new LongAdder()).increment();
                        if (outcome.equals("429")) {
                            sleepUntil(Math.min(end, System.nanoTime() + TimeUnit.SECONDS.toNanos(1)));
                        }
                    }
                    return null;
                });
            }
            long nextSample = start + WARM_UP.toNanos();
            while (System.nanoTime() < end) {
                sleepUntil(Math.min(end, nextSample));
                if (System.nanoTime() >= nextSample) {
                    samples.add(String.format("{\"t_s\": %d, \"heap_after_gc_mb\": %.1f, \"heap_committed_mb\": %.1f, "
                                    + "\"rss_mb\": %.1f, \"queue_depth\": %d, \"running\": %d}",
                            TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start), heapAfterGcMb(),
                            ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted() / 1048576.0, rssMb(),
                            engine.metrics().queueDepth(), engine.metrics().runningRequests()));
                    System.out.println(samples.getLast());
                    nextSample += SAMPLE_EVERY.toNanos();
                }
            }
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        sleepUntil(System.nanoTime() + TimeUnit.SECONDS.toNanos(10));
        var m = engine.metrics();
        System.out.printf("{\"10_s_after_the_end\": {\"queue_depth\": %d, \"running\": %d, \"rss_mb\": %.1f}}%n",
                m.queueDepth(), m.runningRequests(), rssMb());
        System.out.printf("{\"clients\": %d, \"seconds\": %.1f, \"outcomes\": %s, \"streamed_tokens\": %d, \"tokens_per_s\": %.1f, "
                        + "\"ttft_p50_ms\": %.1f, \"ttft_p99_ms\": %.1f, \"itl_p50_ms\": %.1f, \"itl_p99_ms\": %.1f}%n",
                clients, elapsed, new java.util.TreeMap<>(outcomes), tokens.sum(), tokens.sum() / elapsed,
                m.timeToFirstToken().p50Millis(), m.timeToFirstToken().p99Millis(), m.interTokenLatency().p50Millis(),
                m.interTokenLatency().p99Millis());
    }

    /**
     * One streamed completion: "200" when it ended with [DONE], the status for an HTTP error, "incomplete" for a
     * stream cut short by the server, "io-error" when the connection failed, "closed-at-end" when the test's time ran
     * out first (the client hangs up, and the server must cancel the generation).
     */
    private static String streamOnce(HttpClient http, URI uri, SplittableRandom random, LongAdder tokens, long end) {
        int promptLength = 8 + random.nextInt(56);
        StringBuilder prompt = new StringBuilder("[");
        for (int i = 0; i < promptLength; i++) {
            prompt.append(i == 0 ? "" : ",").append(1 + random.nextInt(7999));
        }
        String body = "{\"model\": \"load\", \"prompt\": " + prompt + "], \"max_tokens\": " + MAX_TOKENS
                + ", \"temperature\": 0.8, \"seed\": " + random.nextLong() + ", \"stream\": true}";
        try {
            // a request still queued when the time is up gets no headers before then: give up on it too
            Duration left = Duration.ofNanos(Math.max(TimeUnit.MILLISECONDS.toNanos(1), end - System.nanoTime()));
            HttpResponse<Stream<String>> r = http.send(HttpRequest.newBuilder(uri.resolve("/v1/completions")).timeout(left)
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
            if (r.statusCode() != 200) {
                r.body().close();
                return Integer.toString(r.statusCode());
            }
            boolean done = false;
            try (Stream<String> lines = r.body()) {
                for (String line : (Iterable<String>) lines::iterator) {
                    if (System.nanoTime() > end) {
                        return "closed-at-end"; // closing the stream drops the connection
                    }
                    if (line.equals("data: [DONE]")) {
                        done = true;
                    } else if (line.startsWith("data: ") && line.contains("\"token_ids\":[") && !line.contains("\"token_ids\":[]")) {
                        tokens.increment();
                    }
                }
            }
            return done ? "200" : "incomplete";
        } catch (HttpTimeoutException e) {
            return "closed-at-end";
        } catch (IOException e) {
            return "io-error";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private static void sleepUntil(long nanoTime) {
        long wait = nanoTime - System.nanoTime();
        if (wait > 0) {
            try {
                TimeUnit.NANOSECONDS.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The heap's live set: each heap pool's use right after its last collection. */
    private static double heapAfterGcMb() {
        long bytes = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getCollectionUsage() != null) {
                bytes += pool.getCollectionUsage().getUsed();
            }
        }
        return bytes / 1048576.0;
    }

    /** The process's resident set (Linux), or -1 elsewhere. */
    private static double rssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
