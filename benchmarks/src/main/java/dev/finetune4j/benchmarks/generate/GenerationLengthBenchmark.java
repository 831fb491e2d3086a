package dev.finetune4j.benchmarks.generate;

import dev.finetune4j.benchmarks.Median;
import dev.finetune4j.benchmarks.memory.RandomCheckpoint;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tensor.DType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Greedy generation time per token at 64 and at 512 new tokens with the KV cache, on a LLaMA-shaped model with
 * random weights (hidden 512, 8 layers, 8 query and 2 key/value heads, MLP 1408, vocabulary 8000, written once
 * by {@link RandomCheckpoint} and loaded as float32): with a cache that copies only each step's new positions the
 * two should stay close (only attention grows with the length). Three alternating rounds, medians.
 *
 * <pre>{@code java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp ... \
 *     dev.finetune4j.benchmarks.generate.GenerationLengthBenchmark [dir]}</pre>
 */
public final class GenerationLengthBenchmark {
    private static final int[] LENGTHS = {64, 512};
    private static final int ROUNDS = 3;

    private GenerationLengthBenchmark() {
    }

    /**
     * Runs the benchmark and prints the time per token of both lengths.
     *
     * @param args optionally the model folder (written when missing)
     * @throws Exception when the model cannot be written or loaded
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/llama-generation-shape");
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            RandomCheckpoint.write(dir, RandomCheckpoint.smallLlama(), 7);
        }
        long[] prompt = new long[16];
        Arrays.setAll(prompt, i -> 100 + 31L * i);
        try (LanguageModel lm = AutoModel.loadCausalLM(dir, LoadOptions.builder().dtype(DType.F32).device(Device.cpu()).build())) {
            Generator.generate(lm, prompt, GenerationConfig.greedy(32)); // warm-up
            double[][] msPerToken = new double[LENGTHS.length][ROUNDS];
            for (int round = 0; round < ROUNDS; round++) {
                for (int i = 0; i < LENGTHS.length; i++) {
                    long start = System.nanoTime();
                    long[] out = Generator.generate(lm, prompt, GenerationConfig.greedy(LENGTHS[i]));
                    double ms = (System.nanoTime() - start) / 1e6;
                    if (out.length != prompt.length + LENGTHS[i]) {
                        throw new IllegalStateException("generated " + (out.length - prompt.length) + " tokens, not " + LENGTHS[i]);
                    }
                    msPerToken[i][round] = ms / LENGTHS[i];
                }
            }
            double at64 = Median.of(msPerToken[0]);
            double at512 = Median.of(msPerToken[1]);
            System.out.printf("{\"ms_per_token_64\": %.2f, \"ms_per_token_512\": %.2f, \"ratio\": %.2f, \"rounds_64\": %s, "
                            + "\"rounds_512\": %s}%n", at64, at512, at512 / at64, Arrays.toString(msPerToken[0]),
                    Arrays.toString(msPerToken[1]));
        }
    }
}
