package dev.finetune4j.benchmarks.gpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.qlora.QloraInjector;
import dev.finetune4j.peft.train.Schedule;
import dev.finetune4j.peft.train.SftTrainer;
import dev.finetune4j.peft.train.StepMetrics;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TrainingConfig;
import dev.finetune4j.peft.train.TrainingListener;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Our twin of {@code hf_peft_bench.py} (issue 15's anchor, copied beside this class's script in benchmarks/gpu):
 * the same model shapes, batch and sequence, random weights (uniform with the std 0.02 of transformers' init, norms
 * 1, biases 0) made in memory without a checkpoint file, LoRA r=16 alpha=32 without dropout on all seven
 * projections, AdamW lr 1e-4 (weight decay 0.01, torch's default) over the adapter, labels = inputs. One step is
 * forward + backward + optimizer step; {@code warmup} untimed steps, then {@code steps} timed ones. Prints one JSON
 * line with the anchor's fields, computed the same way: tokens/s = batch x seq / mean step time, peak GiB of
 * tensor memory on the device (our allocator's counter; torch's is max_memory_allocated), MFU = 4 x frozen
 * parameters x tokens/s / 790 TFLOP/s.
 *
 * <pre>{@code
 * java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp benchmarks.jar \
 *     dev.finetune4j.benchmarks.gpu.LoraThroughputBenchmark --config llama-1.1b-shape --device cuda:0
 * }</pre>
 *
 * <p>This build trains in f32 (the anchor's weights are bf16), so compare memory knowing that our weights take
 * twice the bytes.
 */
public final class LoraThroughputBenchmark {
    /** bf16 tensor-core peak that cuBLAS reaches on an H100/H200, the anchor's MFU denominator. */
    static final double PEAK_BF16_FLOPS = 790e12;
    private static final String[] TARGETS = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

    private LoraThroughputBenchmark() {
    }

    /**
     * Runs one configuration and prints its JSON line.
     *
     * @param args the flags of {@link BenchmarkOptions#parse}
     */
    public static void main(String[] args) {
        System.out.println(run(BenchmarkOptions.parse(List.of(args))));
    }

    /**
     * Builds the model on the device, trains {@code warmup + steps} steps and measures them.
     *
     * @param o the configuration
     * @return the result with the anchor's fields, plus {@code qlora}, {@code precision} and {@code first_loss}
     */
    public static ObjectNode run(BenchmarkOptions o) {
        Device device = Device.parse(o.device());
        device.backend().resetPeak();
        ObjectNode shape = ModelShapes.config(o.config());
        try (LanguageModel base = AutoModel.newCausalLM(shape, TensorScope.detached(device))) {
            long frozen = base.stateDict().values().stream().mapToLong(Tensor::numel).sum();
            randomize(base);
            LoraConfig lora = LoraConfig.builder().r(16).loraAlpha(32).loraDropout(0).targetModules(TARGETS)
                    .useDora(o.dora()).build();
            PeftModel model = o.qlora() ? QloraInjector.wrap(base, lora) : Peft.wrap(base, lora);
            long[][] ids = new long[o.batch()][];
            SplittableRandom random = new SplittableRandom(1);
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.longs(o.seq(), 0, shape.get("vocab_size").asInt()).toArray();
            }
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(o.warmup() + o.steps()).microBatchSize(o.batch())
                    .learningRate(1e-4).weightDecay(0.01).schedule(Schedule.CONSTANT).maxGradNorm(0).shuffle(false)
                    .seed(0).logEverySteps(0).gradientCheckpointing(o.gradientCheckpointing()).build();
            List<Long> stepEnds = new ArrayList<>();
            List<Double> losses = new ArrayList<>();
            stepEnds.add(System.nanoTime());
            SftTrainer.builder().model(model).config(cfg).trainData(TokenizedDataset.of(ids)).listener(new TrainingListener() {
                @Override
                public void onStep(StepMetrics m) {
                    // the step's loss has been read back, so the device has finished the step
                    stepEnds.add(System.nanoTime());
                    losses.add(m.loss());
                }
            }).build().train();
            double stepSeconds = (stepEnds.getLast() - stepEnds.get(o.warmup())) / 1e9 / o.steps();
            double tokensPerSecond = (double) o.batch() * o.seq() / stepSeconds;
            ObjectNode r = new ObjectMapper().createObjectNode();
            r.put("system", "finetune4j").put("config", o.config()).put("batch", o.batch()).put("seq", o.seq())
                    .put("gradient_checkpointing", o.gradientCheckpointing()).put("dora", o.dora())
                    .put("qlora", o.qlora()).put("precision", o.precision())
                    .put("tokens_per_s", round(tokensPerSecond, 1)).put("step_ms", round(stepSeconds * 1e3, 2))
                    .put("peak_gib", round(device.memory().peakBytes() / (double) (1L << 30), 3))
                    .put("mfu", round(4.0 * frozen * tokensPerSecond / PEAK_BF16_FLOPS, 4)).put("frozen_params", frozen)
                    .put("first_loss", losses.getFirst()).put("final_loss", losses.getLast())
                    .put("device", device.toString()).put("java", Runtime.version().toString());
            return r;
        }
    }

    /** Matrices uniform with std 0.02, norm weights 1, biases left at 0; one seeded stream per tensor. */
    private static void randomize(LanguageModel model) {
        List<Map.Entry<String, Tensor>> params = List.copyOf(model.stateDict().entrySet());
        java.util.stream.IntStream.range(0, params.size()).parallel().forEach(i -> {
            String name = params.get(i).getKey();
            Tensor t = params.get(i).getValue();
            SplittableRandom random = new SplittableRandom(1000L + i);
            if (name.endsWith("norm.weight")) {
                StateDicts.fill(t, () -> 1.0);
            } else if (t.rank() == 2) {
                // uniform on [-a, a] has std a / sqrt(3): a = 0.02 sqrt(3) gives transformers' std of 0.02
                StateDicts.fill(t, () -> (random.nextDouble() * 2 - 1) * 0.034641);
            }
        });
    }

    private static double round(double v, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(v * scale) / scale;
    }
}
