package dev.finetune4j.benchmarks.eval;

import dev.finetune4j.benchmarks.Median;
import dev.finetune4j.benchmarks.memory.RandomCheckpoint;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DeviceCounters;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.eval.Perplexity;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Perplexity of 32 documents of 48 to 160 tokens (an evaluation split's question + answer documents) on
 * Qwen2-0.5B's shapes (random bf16 weights, {@link RandomCheckpoint}): one window per forward pass
 * ({@code batchTokens(1)}) against the default batching, alternating rounds, medians. Prints one JSON line with both
 * perplexities, which must agree, and the kernels each launched (on a CUDA device; {@code fakecuda:0}, with core's
 * test classes, counts them without a GPU).
 *
 * <pre>{@code java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp ... \
 *     dev.finetune4j.benchmarks.eval.PerplexityBatchingBenchmark [dir] [rounds] [device]}</pre>
 */
public final class PerplexityBatchingBenchmark {
    private PerplexityBatchingBenchmark() {
    }

    /**
     * Runs the benchmark.
     *
     * @param args optionally the model folder (written when missing), the rounds (default 3) and the device (cpu)
     * @throws Exception when the model cannot be written or loaded
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/qwen2-0.5b-shape");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Device device = Device.parse(args.length > 2 ? args[2] : "cpu");
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            RandomCheckpoint.main(new String[]{dir.toString()});
        }
        SplittableRandom random = new SplittableRandom(3);
        List<long[]> docs = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            docs.add(random.longs(48 + random.nextInt(113), 0, 150_000).toArray());
        }
        Perplexity oneAtATime = Perplexity.builder().maxLength(512).batchTokens(1).build();
        Perplexity batched = Perplexity.builder().maxLength(512).build();
        try (LanguageModel lm = AutoModel.loadCausalLM(dir, LoadOptions.builder().device(device).build())) {
            double single = oneAtATime.compute(lm, docs.subList(0, 2)).perplexity(); // warm-up
            double[] singleMs = new double[rounds];
            double[] batchedMs = new double[rounds];
            double batchedPpl = 0;
            long singleLaunches = 0;
            long batchedLaunches = 0;
            for (int r = 0; r < rounds; r++) {
                DeviceCounters c0 = device.counters();
                long t0 = System.nanoTime();
                single = oneAtATime.compute(lm, docs).perplexity();
                long t1 = System.nanoTime();
                DeviceCounters c1 = device.counters();
                batchedPpl = batched.compute(lm, docs).perplexity();
                long t2 = System.nanoTime();
                singleMs[r] = (t1 - t0) / 1e6;
                batchedMs[r] = (t2 - t1) / 1e6;
                singleLaunches = c1.since(c0).launches();
                batchedLaunches = device.counters().since(c1).launches();
            }
            // the launches are 0 on the CPU, which counts nothing
            System.out.printf(Locale.ROOT, "{\"device\": \"%s\", \"documents\": %d, \"ms_one_window_per_pass\": %.0f, "
                            + "\"ms_batched\": %.0f, \"speedup\": %.2f, \"launches_one\": %d, \"launches_batched\": %d, "
                            + "\"perplexity_one\": %.6f, \"perplexity_batched\": %.6f, \"rounds_one\": %s, "
                            + "\"rounds_batched\": %s}%n", device, docs.size(), Median.of(singleMs), Median.of(batchedMs),
                    Median.of(singleMs) / Median.of(batchedMs), singleLaunches, batchedLaunches, single, batchedPpl,
                    Arrays.toString(singleMs), Arrays.toString(batchedMs));
        }
    }
}
