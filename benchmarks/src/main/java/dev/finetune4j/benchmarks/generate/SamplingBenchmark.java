package dev.finetune4j.benchmarks.generate;

import dev.finetune4j.benchmarks.Median;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.LogitsProcessing;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Host time of one sampled token: {@link LogitsProcessing#sample} on one row of a Qwen2-sized vocabulary (151,936
 * logits, N(0, 3)), for the settings a serving engine sees most (OpenAI's defaults temperature 1 and top-p 1, a
 * nucleus, a top-k). A decoding step of the engine or the {@code Generator} pays this once per sampled row, on the
 * host, whatever device ran the model. Prints the median milliseconds per row over the rounds.
 *
 * <pre>{@code
 * java -cp benchmarks.jar dev.finetune4j.benchmarks.generate.SamplingBenchmark [vocabulary] [rounds]
 * }</pre>
 */
public final class SamplingBenchmark {
    private static final int ROWS_PER_ROUND = 40;

    private SamplingBenchmark() {
    }

    /**
     * Runs the benchmark.
     *
     * @param args optional vocabulary size (default 151936) and rounds (default 7)
     */
    public static void main(String[] args) {
        int vocabulary = args.length > 0 ? Integer.parseInt(args[0]) : 151_936;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        SplittableRandom random = new SplittableRandom(1);
        float[] logits = new float[vocabulary];
        for (int i = 0; i < vocabulary; i++) {
            logits[i] = (float) (random.nextGaussian() * 3);
        }
        String[] names = {"temperature 1, top-p 1", "temperature 0.7, top-p 0.9", "temperature 0.7, top-k 50"};
        GenerationConfig[] configs = {
                GenerationConfig.builder().temperature(1f).build(),
                GenerationConfig.builder().temperature(0.7f).topP(0.9f).build(),
                GenerationConfig.builder().temperature(0.7f).topK(50).build()};
        for (int c = 0; c < configs.length; c++) {
            for (int w = 0; w < ROWS_PER_ROUND; w++) {
                LogitsProcessing.sample(logits, configs[c], random);
            }
            double[] ms = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long start = System.nanoTime();
                for (int i = 0; i < ROWS_PER_ROUND; i++) {
                    LogitsProcessing.sample(logits, configs[c], random);
                }
                ms[r] = (System.nanoTime() - start) / 1e6 / ROWS_PER_ROUND;
            }
            System.out.printf(Locale.ROOT, "{\"vocabulary\":%d,\"settings\":\"%s\",\"ms_per_row\":%.3f}%n", vocabulary,
                    names[c], Median.of(ms));
        }
    }
}
