package dev.finetune4j.benchmarks.generate;

import dev.finetune4j.benchmarks.Median;
import dev.finetune4j.benchmarks.memory.RandomCheckpoint;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Time to the first token of a prompt on Qwen2-0.5B's shapes (random bf16 weights, {@link RandomCheckpoint}; the
 * 151,936-word head is about a quarter of the model's work per position): the prompt read in one forward pass with
 * a generation cache, then the next token's logits taken two ways in alternating rounds, as generation did before
 * ({@code forward}: the head over every position, then the last one read) and does now
 * ({@code nextTokenLogits}: the head on the last position alone). Medians of the rounds, one JSON line per prompt
 * length.
 *
 * <pre>{@code java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp ... \
 *     dev.finetune4j.benchmarks.generate.PromptPrefillBenchmark [dir] [rounds]}</pre>
 */
public final class PromptPrefillBenchmark {
    private static final int[] PROMPT_LENGTHS = {128, 512};

    private PromptPrefillBenchmark() {
    }

    /**
     * Runs the benchmark.
     *
     * @param args optionally the model folder (written when missing) and the number of rounds (default 5)
     * @throws Exception when the model cannot be written or loaded
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/qwen2-0.5b-shape");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            RandomCheckpoint.main(new String[]{dir.toString()});
        }
        try (LanguageModel lm = AutoModel.loadCausalLM(dir, LoadOptions.builder().device(Device.cpu()).build())) {
            for (int length : PROMPT_LENGTHS) {
                long[][] prompt = new long[1][length];
                Arrays.setAll(prompt[0], i -> 100 + 31L * i % 150_000);
                firstToken(lm, prompt, true); // warm-up of both paths
                firstToken(lm, prompt, false);
                double[] allPositions = new double[rounds];
                double[] lastPosition = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    allPositions[r] = firstToken(lm, prompt, true);
                    lastPosition[r] = firstToken(lm, prompt, false);
                }
                System.out.printf(Locale.ROOT, "{\"prompt_tokens\": %d, \"ms_head_on_every_position\": %.0f, "
                                + "\"ms_head_on_last_position\": %.0f, \"speedup\": %.2f, \"rounds_every\": %s, "
                                + "\"rounds_last\": %s}%n", length, Median.of(allPositions), Median.of(lastPosition),
                        Median.of(allPositions) / Median.of(lastPosition), Arrays.toString(allPositions),
                        Arrays.toString(lastPosition));
            }
        }
    }

    /** Milliseconds to read the prompt into a fresh cache and take its next token's logits to the host. */
    private static double firstToken(LanguageModel lm, long[][] prompt, boolean headOnEveryPosition) {
        long start = System.nanoTime();
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            ModelInput input = new ModelInput(prompt, null, null, null,
                    KvCache.forGeneration(lm.spec().numLayers(), prompt[0].length + 1));
            Tensor logits;
            if (headOnEveryPosition) {
                Tensor all = lm.forward(input);
                int last = all.dim(1) - 1;
                logits = all.slice(1, last, last + 1);
            } else {
                logits = lm.nextTokenLogits(input);
            }
            if (logits.toFloatArray().length != lm.vocabSize()) {
                throw new IllegalStateException("expected one row of " + lm.vocabSize() + " logits");
            }
        }
        return (System.nanoTime() - start) / 1e6;
    }
}
