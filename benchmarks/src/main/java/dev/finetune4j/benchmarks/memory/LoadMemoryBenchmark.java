package dev.finetune4j.benchmarks.memory;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tensor.DType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Loads a model folder with the default options (a bf16 checkpoint stays bf16 and memory-mapped), or converted
 * to the dtype given as the second argument (F32: the behaviour before weights kept their dtype), and runs one
 * forward pass over 16 tokens, printing the peak anonymous memory of the process (RssAnon from
 * /proc/self/status, sampled every 2 ms: the heap and native allocations, not the mapped file) and timings.
 *
 * <pre>{@code
 * java -Xmx768m --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp ... \
 *     dev.finetune4j.benchmarks.memory.LoadMemoryBenchmark /tmp/qwen2-0.5b-shape [F32]
 * }</pre>
 */
public final class LoadMemoryBenchmark {
    private static final int TOKENS = 16;

    private LoadMemoryBenchmark() {
    }

    /**
     * Runs the benchmark and prints the peak memory and timings.
     *
     * @param args the model folder, then optionally the dtype to convert to
     * @throws Exception when the model cannot be loaded
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/qwen2-0.5b-shape");
        AtomicLong peakAnon = new AtomicLong();
        Thread sampler = Thread.ofPlatform().daemon().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peakAnon.accumulateAndGet(rssAnonBytes(), Math::max);
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        long start = System.nanoTime();
        LoadOptions.Builder options = LoadOptions.builder().device(Device.cpu());
        if (args.length > 1) {
            options.dtype(DType.valueOf(args[1]));
        }
        try (LanguageModel lm = AutoModel.loadCausalLM(dir, options.build())) {
            long loaded = System.nanoTime();
            long[][] ids = new long[1][TOKENS];
            for (int i = 0; i < TOKENS; i++) {
                ids[0][i] = 1000 + 37L * i;
            }
            float[][][] logits = lm.logits(ids, null);
            long done = System.nanoTime();
            sampler.interrupt();
            sampler.join();
            System.out.printf("{\"model\": \"%s\", \"weights_dtype\": \"%s\", \"max_heap_mib\": %d, \"load_s\": %.2f, "
                            + "\"forward_s\": %.2f, \"forward_tokens_per_s\": %.1f, \"peak_rss_anon_gib\": %.3f, "
                            + "\"logit_check\": %.4f}%n",
                    dir.getFileName(), lm.stateDict().get("model.embed_tokens.weight").dtype(),
                    Runtime.getRuntime().maxMemory() >> 20, (loaded - start) / 1e9, (done - loaded) / 1e9,
                    TOKENS / ((done - loaded) / 1e9), peakAnon.get() / (double) (1L << 30), logits[0][TOKENS - 1][0]);
        }
    }

    /** RssAnon of this process in bytes (0 where /proc is absent). */
    private static long rssAnonBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("RssAnon:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }
}
