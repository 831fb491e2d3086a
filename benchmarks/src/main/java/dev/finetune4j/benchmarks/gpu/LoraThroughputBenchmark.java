package dev.finetune4j.benchmarks.gpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DeviceCounters;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;
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

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import java.util.stream.IntStream;

/**
 * Our twin of {@code hf_peft_bench.py} (issue 15's anchor, copied beside this class's script in benchmarks/gpu):
 * the same model shapes, batch and sequence, random weights (uniform with the std 0.02 of transformers' init, norms
 * 1, biases 0) made in memory without a checkpoint file, LoRA r=16 alpha=32 without dropout on all seven
 * projections, AdamW lr 1e-4 (weight decay 0.01, torch's default) over the adapter, labels = inputs. One step is
 * forward + backward + optimizer step; {@code warmup} untimed steps, then {@code steps} timed ones. Prints one JSON
 * line with the anchor's fields, computed the same way: tokens/s = batch x seq / mean step time, peak GiB of
 * tensor memory on the device (our allocator's counter; torch's is max_memory_allocated), MFU = 4 x frozen
 * parameters x tokens/s / 790 TFLOP/s. Ours adds the device's counted product work per step: {@code
 * gemm_tflop_per_step}, and {@code gemm_f32_share}, the part of it with float32 operands (off the tensor cores);
 * both are 0 on the CPU, which counts nothing.
 *
 * <pre>{@code
 * java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp benchmarks.jar \
 *     dev.finetune4j.benchmarks.gpu.LoraThroughputBenchmark --config llama-1.1b-shape --device cuda:0
 * }</pre>
 *
 * <p>With {@code --precision bf16-mixed} (the default, the anchor's setting) the frozen weights are bf16 tensors,
 * as the anchor's {@code dtype=torch.bfloat16} model, the adapter keeps float32 masters and the trainer runs in
 * {@link dev.finetune4j.core.autograd.Precision#BF16_MIXED}; {@code --precision f32} makes everything float32.
 * With {@code --qlora} the linear weights but {@code lm_head}'s are then quantized to NF4.
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
        ObjectNode shape = ModelShapes.config(o.config());
        try (LanguageModel base = randomBase(shape, device, o.frozenDType())) {
            long frozen = base.stateDict().values().stream().mapToLong(Tensor::numel).sum();
            LoraConfig lora = LoraConfig.builder().r(16).loraAlpha(32).loraDropout(0).targetModules(TARGETS)
                    .useDora(o.dora()).build();
            PeftModel model = o.qlora() ? QloraInjector.wrap(base, lora) : Peft.wrap(base, lora);
            // NOTE: the peak counts from the finished model on, as the anchor's counts its bf16 model's copy to the
            // device: building ours passes through float32 placeholders that bf16 and NF4 weights replace.
            device.backend().resetPeak();
            long[][] ids = new long[o.batch()][];
            SplittableRandom random = new SplittableRandom(1);
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.longs(o.seq(), 0, shape.get("vocab_size").asInt()).toArray();
            }
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(o.warmup() + o.steps()).microBatchSize(o.batch())
                    .learningRate(1e-4).weightDecay(0.01).schedule(Schedule.CONSTANT).maxGradNorm(0).shuffle(false)
                    .seed(0).logEverySteps(0).gradientCheckpointing(o.gradientCheckpointing())
                    .precision(o.trainingPrecision()).build();
            List<Long> stepEnds = new ArrayList<>();
            List<DeviceCounters> counters = new ArrayList<>();
            List<Double> losses = new ArrayList<>();
            stepEnds.add(System.nanoTime());
            counters.add(device.counters());
            SftTrainer.builder().model(model).config(cfg).trainData(TokenizedDataset.of(ids)).listener(new TrainingListener() {
                @Override
                public void onStep(StepMetrics m) {
                    // the step's loss has been read back, so the device has finished the step
                    stepEnds.add(System.nanoTime());
                    counters.add(device.counters());
                    losses.add(m.loss());
                }
            }).build().train();
            double stepSeconds = (stepEnds.getLast() - stepEnds.get(o.warmup())) / 1e9 / o.steps();
            double tokensPerSecond = (double) o.batch() * o.seq() / stepSeconds;
            DeviceCounters timed = counters.getLast().since(counters.get(o.warmup()));
            double gemmFlops = (double) (timed.halfGemmFlops() + timed.float32GemmFlops());
            ObjectNode r = new ObjectMapper().createObjectNode();
            r.put("system", "finetune4j").put("config", o.config()).put("batch", o.batch()).put("seq", o.seq())
                    .put("gradient_checkpointing", o.gradientCheckpointing()).put("dora", o.dora())
                    .put("qlora", o.qlora()).put("precision", o.precision())
                    .put("tokens_per_s", round(tokensPerSecond, 1)).put("step_ms", round(stepSeconds * 1e3, 2))
                    .put("peak_gib", round(device.memory().peakBytes() / (double) (1L << 30), 3))
                    .put("mfu", round(4.0 * frozen * tokensPerSecond / PEAK_BF16_FLOPS, 4)).put("frozen_params", frozen)
                    .put("gemm_tflop_per_step", round(gemmFlops / o.steps() / 1e12, 3))
                    .put("gemm_f32_share", gemmFlops == 0 ? 0 : round(timed.float32GemmFlops() / gemmFlops, 4))
                    .put("first_loss", losses.getFirst()).put("final_loss", losses.getLast())
                    .put("device", device.toString()).put("java", Runtime.version().toString());
            return r;
        }
    }

    /**
     * A causal LM of {@code shape} on {@code device} with seeded random weights stored in {@code frozen}: matrices
     * uniform with std 0.02, norm weights 1, biases 0, one stream per tensor, so that a bf16 weight holds the float32
     * weight of the same seed rounded to nearest-even. Only the final weights stay: {@link AutoModel#newCausalLM}
     * makes float32 zeros, which a bf16 weight replaces and releases.
     *
     * @param shape  the config.json of the model
     * @param device where the weights live
     * @param frozen {@link DType#F32} or {@link DType#BF16}
     * @return the model; close it to free its weights
     */
    static LanguageModel randomBase(ObjectNode shape, Device device, DType frozen) {
        if (frozen != DType.F32 && frozen != DType.BF16) {
            throw new IllegalArgumentException("random base weights are F32 or BF16, not " + frozen);
        }
        LanguageModel model = AutoModel.newCausalLM(shape, TensorScope.detached(device));
        try {
            List<Map.Entry<String, Tensor>> params = List.copyOf(model.stateDict().entrySet());
            IntStream.range(0, params.size()).parallel().forEach(i -> {
                String name = params.get(i).getKey();
                Tensor placeholder = params.get(i).getValue();
                DoubleSupplier values = values(name, placeholder, new SplittableRandom(1000L + i));
                if (frozen == DType.F32) {
                    StateDicts.fill(placeholder, values);
                } else {
                    replace(model, name, placeholder, bf16(model.parameterScope(), placeholder, values));
                }
            });
            return model;
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private static DoubleSupplier values(String name, Tensor t, SplittableRandom random) {
        if (name.endsWith("norm.weight")) {
            return () -> 1.0;
        }
        // uniform on [-a, a] has std a / sqrt(3): a = 0.02 sqrt(3) gives transformers' std of 0.02
        return t.rank() == 2 ? () -> (random.nextDouble() * 2 - 1) * 0.034641 : () -> 0.0;
    }

    /** A bf16 tensor shaped as {@code like}, filled on the host from {@code values} rounded to float32 then bf16. */
    private static Tensor bf16(TensorScope scope, Tensor like, DoubleSupplier values) {
        short[] bits = new short[Math.toIntExact(like.numel())];
        for (int j = 0; j < bits.length; j++) {
            bits[j] = DTypeConversions.floatToBf16((float) values.getAsDouble());
        }
        Tensor t = Tensor.zeros(scope, like.device(), DType.BF16, like.shape());
        t.backend().copyFromHost(MemorySegment.ofArray(bits), t);
        return t;
    }

    /** Puts {@code weight} in place of the parameter {@code placeholder} at the dotted path {@code name} and frees it. */
    private static void replace(LanguageModel model, String name, Tensor placeholder, Tensor weight) {
        Module owner = model;
        String[] parts = name.split("\\.");
        for (int j = 0; j < parts.length - 1; j++) {
            owner = owner.child(parts[j]);
        }
        synchronized (model) { // the tensors are made in parallel; a module's parameter map is not thread-safe
            owner.setParameter(parts[parts.length - 1], weight);
        }
        model.parameterScope().release(placeholder);
    }

    private static double round(double v, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(v * scale) / scale;
    }
}
