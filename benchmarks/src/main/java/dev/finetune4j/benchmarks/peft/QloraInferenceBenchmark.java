package dev.finetune4j.benchmarks.peft;

import dev.finetune4j.benchmarks.memory.RandomCheckpoint;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.peft.LoraConfig;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.qlora.QloraInjector;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Function;

/**
 * Inference with a QLoRA model against the same LoRA model: forward passes (logits) of one 128-token sequence on
 * a LLaMA-shaped model with random weights (hidden 512, 8 layers, MLP 1408), LoRA r 8 on all seven projections
 * (median of 10 passes after 3 warm-up passes), and a 64-token greedy generation after them. Issue 12 found QLoRA
 * inference about 20x slower than LoRA (each call rebuilt the dequantized weights, which piled up in the
 * frozen-weight cache); each layer now keeps its dequantized weight.
 *
 * <pre>{@code java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp ... \
 *     dev.finetune4j.benchmarks.peft.QloraInferenceBenchmark [dir]}</pre>
 */
public final class QloraInferenceBenchmark {
    private static final int WARM_UP = 3;
    private static final int MEASURED = 10;
    private static final int GENERATED = 64;

    private QloraInferenceBenchmark() {
    }

    /**
     * Runs the benchmark and prints forward and generation times of both models.
     *
     * @param args optionally the model folder (written when missing)
     * @throws Exception when the model cannot be written or loaded
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/llama-qlora-shape");
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            RandomCheckpoint.write(dir, RandomCheckpoint.smallLlama(), 11);
        }
        LoraConfig config = LoraConfig.builder().r(8).loraAlpha(16)
                .targetModules("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj").build();
        long[][] ids = new long[1][128];
        Arrays.setAll(ids[0], i -> 7L + 13L * i);
        double[] lora = measure(dir, base -> Peft.wrap(base, config), ids);
        double[] qlora = measure(dir, base -> QloraInjector.wrap(base, config), ids);
        System.out.printf("{\"lora_ms_per_forward\": %.1f, \"qlora_ms_per_forward\": %.1f, \"qlora_over_lora\": %.2f, "
                        + "\"lora_ms_per_generated_token\": %.1f, \"qlora_ms_per_generated_token\": %.1f, "
                        + "\"qlora_over_lora_generation\": %.2f}%n",
                lora[0], qlora[0], qlora[0] / lora[0], lora[1], qlora[1], qlora[1] / lora[1]);
    }

    /** {median ms per 128-token forward pass, ms per token of a 64-token greedy generation}. */
    private static double[] measure(Path dir, Function<LanguageModel, PeftModel> wrap, long[][] ids) {
        try (LanguageModel base = AutoModel.loadCausalLM(dir, LoadOptions.builder().dtype(DType.F32).device(Device.cpu()).build())) {
            PeftModel model = wrap.apply(base);
            double[] ms = new double[MEASURED];
            for (int i = -WARM_UP; i < MEASURED; i++) {
                long start = System.nanoTime();
                model.logits(ids, null);
                if (i >= 0) {
                    ms[i] = (System.nanoTime() - start) / 1e6;
                }
            }
            Arrays.sort(ms);
            long start = System.nanoTime();
            Generator.generate(model, Arrays.copyOf(ids[0], 16), GenerationConfig.greedy(GENERATED));
            return new double[]{ms[MEASURED / 2], (System.nanoTime() - start) / 1e6 / GENERATED};
        }
    }
}
