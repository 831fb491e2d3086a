package dev.finetune4j.benchmarks.gpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DeviceCounters;
import dev.finetune4j.core.backend.KernelProfile;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
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
 * parameters x tokens/s / 790 TFLOP/s. Ours adds what the device counted per step: {@code launches_per_step}
 * (kernels and cuBLAS products), {@code gemm_tflop_per_step}, and {@code gemm_f32_share}, the part of the product
 * work with float32 operands (off the tensor cores); all are 0 on the CPU, which counts nothing.
 *
 * <p>With {@code --profile}, one more step runs after the timed ones under {@link
 * dev.finetune4j.core.backend.Backend#startProfiling()}: its device time by kernel and product shape is printed as a
 * table on stderr, and its {@link #PROFILE_ROWS} most expensive entries, busy and wall time are the JSON's
 * {@code profile} (nothing on the CPU, which cannot time its kernels; a profile that fails leaves the run standing,
 * with {@code profile_error} saying why).
 *
 * <pre>{@code
 * java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp benchmarks.jar \
 *     dev.finetune4j.benchmarks.gpu.LoraThroughputBenchmark --config llama-1.1b-shape --device cuda:0
 * }</pre>
 *
 * <p>With {@code --precision bf16-mixed} (the default, the anchor's setting) the frozen weights are bf16 tensors,
 * as the anchor's {@code dtype=torch.bfloat16} model, the adapter keeps float32 masters and the trainer runs in
 * {@link dev.finetune4j.core.autograd.Precision#BF16_MIXED}; {@code --precision f32} makes everything float32.
 * With {@code --qlora} the linear weights but {@code lm_head}'s are stored in NF4, each quantized on the device as it
 * is made, so the dense model never exists.
 */
public final class LoraThroughputBenchmark {
    /** bf16 tensor-core peak that cuBLAS reaches on an H100/H200, the anchor's MFU denominator. */
    static final double PEAK_BF16_FLOPS = 790e12;
    /** Values per seeded stream of a random weight: the host fills a tensor by blocks in parallel. */
    static final int BLOCK = 1 << 20;
    /** Entries of the profiled step listed in the JSON line (the stderr table has more). */
    static final int PROFILE_ROWS = 12;
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
     * @return the result with the anchor's fields, plus {@code qlora}, {@code precision}, {@code first_loss} and
     *         {@code build_peak_gib} (the device's peak while the model was made)
     */
    public static ObjectNode run(BenchmarkOptions o) {
        Device device = Device.parse(o.device());
        ObjectNode shape = ModelShapes.config(o.config());
        device.backend().resetPeak();
        try (LanguageModel base = randomBase(shape, device, o.frozenDType(), o.qlora())) {
            long frozen = base.stateDict().values().stream().mapToLong(Tensor::numel).sum();
            LoraConfig lora = LoraConfig.builder().r(16).loraAlpha(32).loraDropout(0).targetModules(TARGETS)
                    .useDora(o.dora()).build();
            PeftModel model = o.qlora() ? QloraInjector.wrap(base, lora) : Peft.wrap(base, lora);
            long buildPeak = device.memory().peakBytes();
            // NOTE: the training peak counts from the finished model on, as the anchor's counts its bf16 model's copy
            // to the device; build_peak_gib is the peak while the weights and the adapter were made.
            device.backend().resetPeak();
            long[][] ids = new long[o.batch()][];
            SplittableRandom random = new SplittableRandom(1);
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.longs(o.seq(), 0, shape.get("vocab_size").asInt()).toArray();
            }
            int timedEnd = o.warmup() + o.steps();
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(timedEnd + (o.profile() ? 1 : 0))
                    .microBatchSize(o.batch())
                    .learningRate(1e-4).weightDecay(0.01).schedule(Schedule.CONSTANT).maxGradNorm(0).shuffle(false)
                    .seed(0).logEverySteps(0).gradientCheckpointing(o.gradientCheckpointing())
                    .precision(o.trainingPrecision()).build();
            List<Long> stepEnds = new ArrayList<>();
            List<DeviceCounters> counters = new ArrayList<>();
            List<Double> losses = new ArrayList<>();
            KernelProfile[] profile = {null};
            String[] profileError = {null};
            stepEnds.add(System.nanoTime());
            counters.add(device.counters());
            SftTrainer.builder().model(model).config(cfg).trainData(TokenizedDataset.of(ids)).listener(new TrainingListener() {
                @Override
                public void onStep(StepMetrics m) {
                    // the step's loss has been read back, so the device has finished the step
                    stepEnds.add(System.nanoTime());
                    counters.add(device.counters());
                    losses.add(m.loss());
                    // a profile that fails (a driver without event timing, say) costs the profile, not the run
                    try {
                        if (o.profile() && losses.size() == timedEnd) {
                            device.backend().startProfiling();
                        } else if (o.profile() && losses.size() == timedEnd + 1 && profileError[0] == null) {
                            profile[0] = device.backend().stopProfiling();
                        }
                    } catch (RuntimeException e) {
                        profileError[0] = e.toString();
                    }
                }
            }).build().train();
            double stepSeconds = (stepEnds.get(timedEnd) - stepEnds.get(o.warmup())) / 1e9 / o.steps();
            double tokensPerSecond = (double) o.batch() * o.seq() / stepSeconds;
            DeviceCounters timed = counters.get(timedEnd).since(counters.get(o.warmup()));
            double gemmFlops = (double) (timed.halfGemmFlops() + timed.float32GemmFlops());
            ObjectNode r = new ObjectMapper().createObjectNode();
            r.put("system", "finetune4j").put("config", o.config()).put("batch", o.batch()).put("seq", o.seq())
                    .put("gradient_checkpointing", o.gradientCheckpointing()).put("dora", o.dora())
                    .put("qlora", o.qlora()).put("precision", o.precision())
                    .put("tokens_per_s", round(tokensPerSecond, 1)).put("step_ms", round(stepSeconds * 1e3, 2))
                    .put("peak_gib", gib(device.memory().peakBytes())).put("build_peak_gib", gib(buildPeak))
                    .put("mfu", round(4.0 * frozen * tokensPerSecond / PEAK_BF16_FLOPS, 4)).put("frozen_params", frozen)
                    .put("launches_per_step", timed.launches() / o.steps())
                    .put("gemm_tflop_per_step", round(gemmFlops / o.steps() / 1e12, 3))
                    .put("gemm_f32_share", gemmFlops == 0 ? 0 : round(timed.float32GemmFlops() / gemmFlops, 4))
                    .put("first_loss", losses.getFirst()).put("final_loss", losses.get(timedEnd - 1))
                    .put("device", device.toString()).put("java", Runtime.version().toString());
            if (profileError[0] != null) {
                r.put("profile_error", profileError[0]);
            }
            if (profile[0] != null) {
                System.err.println("profiled step (" + o.config() + ", " + device + "):");
                System.err.print(profile[0].table(40));
                r.set("profile", profileJson(profile[0]));
            }
            return r;
        }
    }

    /**
     * A causal LM of {@code shape} on {@code device} with seeded random weights stored in {@code frozen}: matrices
     * uniform with std 0.02, norm weights 1, biases 0, from seeded streams (one per block of {@link #BLOCK} values of
     * a tensor, so that the host fills a big tensor on every core), so that a bf16 weight holds the float32 weight of
     * the same seed rounded to nearest-even. With {@code nf4} the weights {@link QloraInjector#quantizes} quantizes
     * are stored in NF4, quantized on the device from the same bf16 (or float32) values.
     *
     * <p>Only the final weights stay, and they are made one at a time ({@link AutoModel#newCausalLM(
     * com.fasterxml.jackson.databind.JsonNode, TensorScope, dev.finetune4j.core.models.WeightFactory)}): the
     * device never holds more than the finished weights plus, while an NF4 weight is made, that weight's bf16 (or
     * float32) values.
     *
     * @param shape  the config.json of the model
     * @param device where the weights live
     * @param frozen {@link DType#F32} or {@link DType#BF16}
     * @param nf4    whether QLoRA's linear weights are stored in NF4
     * @return the model; close it to free its weights
     */
    static LanguageModel randomBase(ObjectNode shape, Device device, DType frozen, boolean nf4) {
        if (frozen != DType.F32 && frozen != DType.BF16) {
            throw new IllegalArgumentException("random base weights are F32 or BF16, not " + frozen);
        }
        TensorScope weights = TensorScope.detached(device);
        int[] index = {0};
        return AutoModel.newCausalLM(shape, weights, (name, owner, placeholder) -> {
            long seed = 1000L + index[0]++;
            String leaf = name.substring(name.lastIndexOf('.') + 1);
            String ownerPath = name.substring(0, Math.max(0, name.lastIndexOf('.')));
            if (nf4 && leaf.equals("weight") && QloraInjector.quantizes(ownerPath, owner)) {
                try (TensorScope staging = TensorScope.detached(device)) {
                    return random(staging, device, frozen, name, placeholder, seed).convertTo(DType.NF4, weights);
                }
            }
            return random(weights, device, frozen, name, placeholder, seed);
        });
    }

    /** A {@code dtype} tensor of {@code like}'s shape in {@code scope} on {@code device}, filled on the host. */
    private static Tensor random(TensorScope scope, Device device, DType dtype, String name, Tensor like, long seed) {
        int n = Math.toIntExact(like.numel());
        float[] f32 = dtype == DType.F32 ? new float[n] : null;
        short[] bf16 = dtype == DType.BF16 ? new short[n] : null;
        IntStream.range(0, (n + BLOCK - 1) / BLOCK).parallel().forEach(b -> {
            DoubleSupplier values = values(name, like, new SplittableRandom(seed * 1_000_003L + b));
            for (int j = b * BLOCK, end = Math.min(n, j + BLOCK); j < end; j++) {
                float v = (float) values.getAsDouble();
                if (f32 != null) {
                    f32[j] = v;
                } else {
                    bf16[j] = DTypeConversions.floatToBf16(v);
                }
            }
        });
        Tensor t = Tensor.zeros(scope, device, dtype, like.shape());
        t.backend().copyFromHost(f32 != null ? MemorySegment.ofArray(f32) : MemorySegment.ofArray(bf16), t);
        return t.requiresGrad(like.requiresGrad() && dtype == DType.F32);
    }

    private static DoubleSupplier values(String name, Tensor t, SplittableRandom random) {
        if (name.endsWith("norm.weight")) {
            return () -> 1.0;
        }
        // uniform on [-a, a] has std a / sqrt(3): a = 0.02 sqrt(3) gives transformers' std of 0.02
        return t.rank() == 2 ? () -> (random.nextDouble() * 2 - 1) * 0.034641 : () -> 0.0;
    }

    /** The profile's wall and busy milliseconds and its most expensive entries. */
    private static ObjectNode profileJson(KernelProfile p) {
        ObjectNode json = new ObjectMapper().createObjectNode();
        json.put("wall_ms", round(p.wallMs(), 3)).put("busy_ms", round(p.busyMs(), 3));
        var top = json.putArray("top");
        p.entries().stream().limit(PROFILE_ROWS).forEach(e -> top.addObject().put("name", e.name())
                .put("calls", e.calls()).put("ms", round(e.totalMs(), 3)));
        return json;
    }

    static double gib(long bytes) {
        return round(bytes / (double) (1L << 30), 3);
    }

    static double round(double v, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(v * scale) / scale;
    }
}
