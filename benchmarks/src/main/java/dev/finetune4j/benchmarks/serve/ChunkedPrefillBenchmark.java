package dev.finetune4j.benchmarks.serve;

import dev.finetune4j.benchmarks.Median;
import dev.finetune4j.benchmarks.train.LoraTrainBenchmark;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.serve.Completion;
import dev.finetune4j.peft.serve.CompletionHandle;
import dev.finetune4j.peft.serve.CompletionRequest;
import dev.finetune4j.peft.serve.InferenceEngine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;

/**
 * What long prompts arriving at once do to running streams, with and without chunked prefill, on the CPU-S model
 * ({@link LoraTrainBenchmark#cpuS()}, 512 positions). Each round: 8 streams (16-token prompts, 96 greedy new tokens)
 * decode; once each has 16 tokens, 4 requests with 448-token prompts (8 new tokens) arrive together. Printed per
 * round: the gaps between consecutive tokens of the running streams from the arrival until every long prompt has
 * its first token (p50, p99, max), that window's length, the long prompts' time to first token, and the round's
 * generated tokens/s. Budgets alternate round by round (the machine is shared): 4096 reads the four prompts in one
 * step, each in one piece, as the engine did before chunked prefill; 256 (the default) and 64 read them in chunks.
 *
 * <pre>{@code
 * java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar \
 *     dev.finetune4j.benchmarks.serve.ChunkedPrefillBenchmark
 * }</pre>
 */
public final class ChunkedPrefillBenchmark {
    private static final int STREAMS = 8;
    private static final int STREAM_PROMPT = 16;
    private static final int STREAM_TOKENS = 96;
    private static final int TOKENS_BEFORE_ARRIVAL = 16;
    private static final int LONG_PROMPTS = 4;
    private static final int LONG_PROMPT = 448;
    private static final int LONG_PROMPT_TOKENS = 8;
    private static final int[] BUDGETS = {4096, 256, 64};
    private static final int ROUNDS = 3;

    private ChunkedPrefillBenchmark() {
    }

    /**
     * Runs the benchmark.
     *
     * @param args none
     * @throws InterruptedException when interrupted while waiting for the streams
     */
    public static void main(String[] args) throws InterruptedException {
        try (LanguageModel base = LoraTrainBenchmark.cpuS()) {
            System.out.printf("CPU-S, %d streams (%d-token prompts, %d new tokens), then %d x %d-token prompts at once; "
                            + "%d cores%n", STREAMS, STREAM_PROMPT, STREAM_TOKENS, LONG_PROMPTS, LONG_PROMPT,
                    Runtime.getRuntime().availableProcessors());
            round(base, BUDGETS[0], "warm-up");
            Map<Integer, List<double[]>> results = new LinkedHashMap<>();
            for (int r = 1; r <= ROUNDS; r++) {
                for (int budget : BUDGETS) {
                    results.computeIfAbsent(budget, b -> new ArrayList<>()).add(round(base, budget, "round " + r));
                }
            }
            System.out.println("medians over rounds (ms): budget | gap p50 | gap p99 | gap max | window | TTFT p50 "
                    + "| TTFT max | tokens/s");
            results.forEach((budget, rows) -> {
                StringBuilder line = new StringBuilder(String.format("%6d", budget));
                for (int i = 0; i < rows.get(0).length; i++) {
                    int column = i;
                    line.append(String.format(" | %7.0f", Median.of(rows.stream().mapToDouble(x -> x[column]).toArray())));
                }
                System.out.println(line);
            });
        }
    }

    /**
     * One round with a fresh engine of the given step token budget.
     *
     * @return gap p50, p99, max, window, TTFT p50, TTFT max (ms), tokens/s
     */
    private static double[] round(LanguageModel base, int budget, String label) throws InterruptedException {
        long[][] tokenTimes = new long[STREAMS][STREAM_TOKENS];
        int[] counts = new int[STREAMS];
        CountDownLatch ready = new CountDownLatch(STREAMS);
        List<CompletionHandle> handles = new ArrayList<>();
        long start = System.nanoTime();
        try (InferenceEngine engine = InferenceEngine.builder(base).stepTokenBudget(budget).build()) {
            for (int s = 0; s < STREAMS; s++) {
                int stream = s;
                long[] prompt = new SplittableRandom(s).longs(STREAM_PROMPT, 0, 4096).toArray();
                handles.add(engine.submit(new CompletionRequest(null, prompt, GenerationConfig.greedy(STREAM_TOKENS)), t -> {
                    tokenTimes[stream][counts[stream]++] = System.nanoTime(); // the engine's one thread calls listeners
                    if (counts[stream] == TOKENS_BEFORE_ARRIVAL) {
                        ready.countDown();
                    }
                }));
            }
            ready.await();
            long arrival = System.nanoTime();
            List<CompletionHandle> longOnes = new ArrayList<>();
            for (int i = 0; i < LONG_PROMPTS; i++) {
                long[] prompt = new SplittableRandom(100 + i).longs(LONG_PROMPT, 0, 4096).toArray();
                longOnes.add(engine.submit(new CompletionRequest(null, prompt, GenerationConfig.greedy(LONG_PROMPT_TOKENS)),
                        t -> { }));
            }
            handles.addAll(longOnes);
            long tokens = 0;
            double[] ttft = new double[LONG_PROMPTS];
            long windowEnd = arrival;
            for (int i = 0; i < handles.size(); i++) {
                Completion c = handles.get(i).completion().join();
                tokens += c.tokens().length;
                if (i >= STREAMS) {
                    ttft[i - STREAMS] = c.timeToFirstToken().toNanos() / 1e6;
                    windowEnd = Math.max(windowEnd, arrival + c.timeToFirstToken().toNanos());
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double[] gaps = gapsBetween(tokenTimes, counts, arrival, windowEnd);
            Arrays.sort(ttft);
            double[] row = {percentile(gaps, 50), percentile(gaps, 99), gaps[gaps.length - 1], (windowEnd - arrival) / 1e6,
                    percentile(ttft, 50), ttft[ttft.length - 1], tokens / seconds};
            System.out.printf("%s, budget %4d: running streams' inter-token ms p50 %.0f p99 %.0f max %.0f over a %.0f ms "
                            + "window (%d gaps); long prompts' TTFT ms p50 %.0f max %.0f; %.0f tokens/s%n", label, budget,
                    row[0], row[1], row[2], row[3], gaps.length, row[4], row[5], row[6]);
            return row;
        }
    }

    /**
     * The sorted gaps (ms) between consecutive tokens of each stream that end after {@code from} and start before
     * {@code to}: every gap that overlaps the window in which the long prompts were read.
     */
    private static double[] gapsBetween(long[][] times, int[] counts, long from, long to) {
        List<Double> gaps = new ArrayList<>();
        for (int s = 0; s < times.length; s++) {
            for (int i = 1; i < counts[s]; i++) {
                if (times[s][i] > from && times[s][i - 1] < to) {
                    gaps.add((times[s][i] - times[s][i - 1]) / 1e6);
                }
            }
        }
        return gaps.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    }

    /** Nearest-rank percentile of sorted values. */
    private static double percentile(double[] sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }
}
