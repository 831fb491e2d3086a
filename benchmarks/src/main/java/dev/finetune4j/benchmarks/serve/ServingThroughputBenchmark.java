package dev.finetune4j.benchmarks.serve;

import dev.finetune4j.benchmarks.train.LoraTrainBenchmark;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.LoraConfig;
import dev.finetune4j.peft.LoraInit;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.serve.Completion;
import dev.finetune4j.peft.serve.CompletionRequest;
import dev.finetune4j.peft.serve.EngineMetrics;
import dev.finetune4j.peft.serve.InferenceEngine;
import dev.finetune4j.peft.serve.TokenListener;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serving throughput on the CPU-S model ({@link LoraTrainBenchmark#cpuS()}) with four LoRA adapters (r 8, all seven
 * projections) and the bare base: 16 concurrent callers, each submitting its next request as soon as the previous
 * one completed (continuous batching over mixed adapters), against one caller at a time through the same engine.
 * Rounds alternate (one at a time, then 16 callers, three times) because the machine is shared; each round prints
 * generated tokens/s, tokens per CPU-second of this process (steadier than wall time when other programs take the
 * cores), time to first token and request latency percentiles as the callers saw them.
 *
 * <pre>{@code
 * java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar \
 *     dev.finetune4j.benchmarks.serve.ServingThroughputBenchmark
 * }</pre>
 */
public final class ServingThroughputBenchmark {
    private static final int CALLERS = 16;
    private static final int PROMPT_TOKENS = 32;
    private static final int NEW_TOKENS = 64;
    private static final int SEQUENTIAL_REQUESTS = 10;
    private static final int REQUESTS_PER_CALLER = 4;
    private static final int ROUNDS = 3;
    private static final List<String> ADAPTERS = List.of("a1", "a2", "a3", "a4");

    private ServingThroughputBenchmark() {
    }

    /**
     * Runs the benchmark.
     *
     * @param args none
     * @throws Exception when the adapters cannot be written or a request fails
     */
    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("serving-benchmark");
        List<Path> adapterDirs = new ArrayList<>();
        for (int i = 0; i < ADAPTERS.size(); i++) {
            adapterDirs.add(saveAdapter(dir.resolve(ADAPTERS.get(i)), i));
        }
        try (LanguageModel base = LoraTrainBenchmark.cpuS(); InferenceEngine engine = InferenceEngine.builder(base).build()) {
            for (int i = 0; i < ADAPTERS.size(); i++) {
                engine.loadAdapter(ADAPTERS.get(i), adapterDirs.get(i));
            }
            System.out.printf("CPU-S, %d-token prompts, %d new tokens (greedy), adapters: base + %s, %d cores%n",
                    PROMPT_TOKENS, NEW_TOKENS, ADAPTERS, Runtime.getRuntime().availableProcessors());
            run(engine, 1, 4, "warm-up");
            run(engine, CALLERS, 1, "warm-up");
            List<double[]> sequential = new ArrayList<>();
            List<double[]> concurrent = new ArrayList<>();
            for (int round = 1; round <= ROUNDS; round++) {
                sequential.add(run(engine, 1, SEQUENTIAL_REQUESTS, "round " + round + ", 1 caller "));
                concurrent.add(run(engine, CALLERS, REQUESTS_PER_CALLER, "round " + round + ", 16 callers"));
            }
            for (int measure = 0; measure < 2; measure++) {
                double seq = median(sequential, measure);
                double con = median(concurrent, measure);
                System.out.printf("median %s: 1 caller %.0f, 16 callers %.0f: %.1fx%n",
                        measure == 0 ? "tokens/s" : "tokens per CPU-second", seq, con, con / seq);
            }
            EngineMetrics m = engine.metrics();
            System.out.printf("engine: %d requests, %d tokens, by adapter %s%n", m.completedRequests(), m.generatedTokens(),
                    m.requestsByAdapter());
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** A random LoRA adapter (A and B both random, so that it changes the outputs) saved from a fresh CPU-S model. */
    private static Path saveAdapter(Path dir, long seed) {
        try (LanguageModel base = LoraTrainBenchmark.cpuS()) {
            Peft.wrap(base, LoraConfig.builder().r(8).loraAlpha(16).initLoraWeights(LoraInit.RANDOM)
                    .targetModules("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj").build(), seed).save(dir);
        }
        return dir;
    }

    /**
     * {@code callers} threads each submit {@code requests} requests one after the other (adapters round robin over
     * the base and the four adapters); prints the round's numbers and returns its generated tokens per second of
     * wall time and of CPU time.
     */
    private static double[] run(InferenceEngine engine, int callers, int requests, String label) throws InterruptedException {
        List<Completion> done = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        long cpuStart = processCpuNanos();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < callers; c++) {
            threads.add(Thread.ofPlatform().name("caller-" + c).start(() -> {
                for (int r = 0; r < requests; r++) {
                    int id = next.getAndIncrement();
                    String adapter = id % 5 == 0 ? null : ADAPTERS.get(id % 5 - 1);
                    long[] prompt = new SplittableRandom(id).longs(PROMPT_TOKENS, 0, 4096).toArray();
                    done.add(engine.submit(new CompletionRequest(adapter, prompt, GenerationConfig.greedy(NEW_TOKENS)),
                            TokenListener.NONE).completion().join());
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpuSeconds = (processCpuNanos() - cpuStart) / 1e9;
        long tokens = done.stream().mapToLong(c -> c.tokens().length).sum();
        double[] ttft = done.stream().mapToDouble(c -> c.timeToFirstToken().toNanos() / 1e6).sorted().toArray();
        double[] total = done.stream().mapToDouble(c -> c.total().toNanos() / 1e6).sorted().toArray();
        double rate = tokens / seconds;
        System.out.printf("%s: %5.0f tokens/s (%d requests, %d tokens, %.1f s, %.0f tokens per CPU-second); TTFT ms p50 %.0f "
                        + "p90 %.0f p99 %.0f; request latency ms p50 %.0f p90 %.0f p99 %.0f%n", label, rate, done.size(), tokens,
                seconds, tokens / cpuSeconds,
                percentile(ttft, 50), percentile(ttft, 90), percentile(ttft, 99),
                percentile(total, 50), percentile(total, 90), percentile(total, 99));
        return new double[]{rate, tokens / cpuSeconds};
    }

    /** CPU time of this process, all threads: unlike wall time it does not grow when other programs take the cores. */
    private static long processCpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L);
    }

    /** Nearest-rank percentile of sorted values. */
    private static double percentile(double[] sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }

    private static double median(List<double[]> values, int index) {
        double[] v = values.stream().mapToDouble(x -> x[index]).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
