package dev.finetune4j.benchmarks.train;

import dev.finetune4j.benchmarks.memory.PeakRssAnon;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.train.Schedule;
import dev.finetune4j.peft.train.SftTrainer;
import dev.finetune4j.peft.train.StepMetrics;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TrainingConfig;
import dev.finetune4j.peft.train.TrainingListener;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A few SFT steps of LoRA (r 8, alpha 16, all seven projections, AdamW) on a large checkpoint on the CPU, its base
 * kept in the checkpoint's dtype (a bf16 file stays memory-mapped) or quantized to NF4 while loading (QLoRA), with
 * short random sequences; prints the tokens/s of each step and the peak anonymous memory ({@link PeakRssAnon}).
 *
 * <pre>{@code
 * java -Xmx1g --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp ... \
 *     dev.finetune4j.benchmarks.train.HalfBillionLoraStepBenchmark /tmp/qwen2-0.5b-shape NF4 [steps] [tokens]
 * }</pre>
 */
public final class HalfBillionLoraStepBenchmark {
    private HalfBillionLoraStepBenchmark() {
    }

    /**
     * Runs the steps.
     *
     * @param args the model folder, BF16 (the checkpoint's dtype) or NF4, the number of steps (3), the tokens per
     *             sequence (32)
     * @throws Exception when the model cannot be read
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        boolean nf4 = args.length > 1 && args[1].equals("NF4");
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int tokens = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        try (PeakRssAnon peak = new PeakRssAnon()) {
            LoadOptions options = LoadOptions.builder().device(Device.cpu())
                    .quantization(nf4 ? Quantization.NF4 : Quantization.NONE).build();
            long start = System.nanoTime();
            try (LanguageModel base = AutoModel.loadCausalLM(dir, options)) {
                double loadSeconds = (System.nanoTime() - start) / 1e9;
                String baseDtype = base.stateDict().get("model.layers.0.mlp.up_proj.weight").dtype().name();
                PeftModel model = Peft.wrap(base, LoraConfig.builder().r(8).loraAlpha(16).loraDropout(0)
                        .targetModules("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj").build());
                long[][] ids = {new SplittableRandom(1).longs(tokens, 0, 32_000).toArray()};
                List<String> perStep = new ArrayList<>();
                List<Float> losses = new ArrayList<>();
                TrainingConfig cfg = TrainingConfig.builder().maxSteps(steps).microBatchSize(1).learningRate(1e-4)
                        .schedule(Schedule.CONSTANT).shuffle(false).logEverySteps(0).build();
                SftTrainer.builder().model(model).config(cfg).trainData(TokenizedDataset.of(ids))
                        .listener(new TrainingListener() {
                            @Override
                            public void onStep(StepMetrics m) {
                                perStep.add(String.format("%.2f", m.tokensPerSecond()));
                                losses.add((float) m.loss());
                            }
                        }).build().train();
                System.out.printf("{\"base\": \"%s\", \"max_heap_mib\": %d, \"load_s\": %.1f, \"tokens_per_step\": %d, "
                                + "\"tokens_per_s_per_step\": %s, \"losses\": %s, \"peak_rss_anon_gib\": %.3f}%n",
                        baseDtype,
                        Runtime.getRuntime().maxMemory() >> 20, loadSeconds, tokens, perStep, losses, peak.gib());
            }
        }
    }
}
