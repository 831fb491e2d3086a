package dev.finetune4j.benchmarks.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.train.Schedule;
import dev.finetune4j.peft.train.SftTrainer;
import dev.finetune4j.peft.train.StepMetrics;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TrainingConfig;
import dev.finetune4j.peft.train.TrainingListener;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The CPU-S configuration of BENCHMARKS.md: LoRA (r 8, alpha 16, all seven projections) training tokens/s with
 * AdamW lr 1e-4 (3 warm-up steps, median of 10), forward-only tokens/s, and peak memory (VmHWM, native bytes).
 * With {@code --moe}, CPU-S-MoE: each MLP a Mixtral mixture of 16 experts of width 176, 4 per token (the dense MLP's
 * 704 active), LoRA on every expert's w1, w2 and w3 (tools/reference/cpu_s_lora_torch.py --moe is its anchor).
 * With {@code --qwen35}, CPU-S-Qwen3.5: CPU-S's sizes in Qwen3.5's layers (three gated DeltaNet layers, then a gated
 * attention layer), LoRA also on the linear layers' five projections; with {@code --granite4h}, CPU-S-Granite-4.0-H:
 * CPU-S's sizes in Granite 4.0 H's layers (three Mamba-2 layers, then an attention layer; the shared MLP), LoRA on
 * the attention's four projections, the Mamba-2 layers' two and the shared MLP's two (tools/reference/
 * cpu_s_hybrid_hf_peft.py, HF PEFT over transformers' own Qwen3_5ForCausalLM or GraniteMoeHybridForCausalLM, is
 * their anchor).
 *
 * <pre>{@code
 * java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp ... \
 *     dev.finetune4j.benchmarks.train.LoraTrainBenchmark [--moe | --qwen35 | --granite4h | --lfm2]
 * }</pre>
 */
public final class LoraTrainBenchmark {
    private static final int BATCH = 8;
    private static final int SEQ = 128;
    private static final int WARMUP = 3;
    private static final int MEASURED = 10;

    private LoraTrainBenchmark() {
    }

    /**
     * Runs the benchmark and prints tokens/s and peak memory.
     *
     * @param args {@code --moe} for CPU-S-MoE, {@code --qwen35} for CPU-S-Qwen3.5, {@code --granite4h} for
     *             CPU-S-Granite-4.0-H, {@code --lfm2} for CPU-S-LFM2
     * @throws IOException when the memory statistics cannot be read
     */
    public static void main(String[] args) throws IOException {
        boolean moe = Arrays.asList(args).contains("--moe");
        boolean qwen35 = Arrays.asList(args).contains("--qwen35");
        boolean granite = Arrays.asList(args).contains("--granite4h");
        boolean lfm2 = Arrays.asList(args).contains("--lfm2");
        String name = moe ? "CPU-S-MoE" : qwen35 ? "CPU-S-Qwen3.5" : granite ? "CPU-S-Granite-4.0-H"
                : lfm2 ? "CPU-S-LFM2" : "CPU-S";
        // the MLP's projections: every expert's in the mixture; and the recurrent layers' projections
        List<String> mlp = moe ? List.of("w1", "w3", "w2") : qwen35 ? List.of("gate_proj", "up_proj", "down_proj",
                "in_proj_qkv", "in_proj_z", "in_proj_b", "in_proj_a", "out_proj")
                : granite ? List.of("input_linear", "output_linear", "in_proj", "out_proj")
                : lfm2 ? List.of("w1", "w3", "w2", "in_proj", "out_proj")
                : List.of("gate_proj", "up_proj", "down_proj");
        try (LanguageModel base = moe ? cpuSMoe() : qwen35 ? cpuSQwen35() : granite ? cpuSGranite4H()
                : lfm2 ? cpuSLfm2() : cpuS()) {
            long[][] ids = new long[BATCH][];
            SplittableRandom random = new SplittableRandom(1);
            for (int i = 0; i < BATCH; i++) {
                ids[i] = random.longs(SEQ, 0, 4096).toArray();
            }
            double forward = forwardTokensPerSecond(base, ids);
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(8).loraAlpha(16).loraDropout(0)
                    .targetModules(Stream.concat(Stream.of("q_proj", "k_proj", "v_proj", "o_proj"), mlp.stream())
                            .toArray(String[]::new)).build());
            List<Double> seconds = new ArrayList<>();
            List<Double> cpuSeconds = new ArrayList<>();
            long[] cpuAtLastStep = {processCpuNanos()};
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(WARMUP + MEASURED).microBatchSize(BATCH)
                    .learningRate(1e-4).weightDecay(0.01).schedule(Schedule.CONSTANT).shuffle(false).logEverySteps(0).build();
            SftTrainer.builder().model(model).config(cfg).trainData(TokenizedDataset.of(ids)).listener(new TrainingListener() {
                @Override
                public void onStep(StepMetrics m) {
                    seconds.add(BATCH * SEQ / m.tokensPerSecond());
                    long cpu = processCpuNanos();
                    cpuSeconds.add((cpu - cpuAtLastStep[0]) / 1e9);
                    cpuAtLastStep[0] = cpu;
                }
            }).build().train();
            double median = median(seconds.subList(WARMUP, seconds.size()));
            System.out.printf("%s LoRA training: %.0f tokens/s (median step %.1f ms of %d)%n", name, BATCH * SEQ / median,
                    median * 1e3, MEASURED);
            // CPU time is what the step cost this process: unlike wall time it does not grow when a shared
            // machine's hypervisor takes the cores away (steal time).
            System.out.printf("%s LoRA training: median %.0f ms of CPU time per step (all threads)%n", name,
                    median(cpuSeconds.subList(WARMUP, cpuSeconds.size())) * 1e3);
            System.out.printf("%s forward, no grad: %.0f tokens/s%n", name, forward);
            System.out.printf("peak RSS (VmHWM): %s; native bytes allocated by the model's scope: %.1f MiB%n",
                    vmHwm(), base.parameterScope().allocatedBytes() / 1048576.0);
        }
    }

    /**
     * The CPU-S model: vocab 4096, hidden 256, 4 layers, 8 heads, 4 kv heads, intermediate 704, random N(0, 0.02)
     * weights (the same for every call).
     *
     * @return a new model in memory; the caller closes it
     */
    public static LanguageModel cpuS() {
        return randomModel(cpuSConfig("llama").put("intermediate_size", 704));
    }

    /**
     * CPU-S-MoE: CPU-S with each MLP a Mixtral mixture of 16 experts of width 176, 4 per token; random N(0, 0.02)
     * weights.
     *
     * @return a new model in memory; the caller closes it
     */
    public static LanguageModel cpuSMoe() {
        return randomModel(cpuSConfig("mixtral").put("intermediate_size", 176).put("num_local_experts", 16)
                .put("num_experts_per_tok", 4));
    }

    /**
     * CPU-S-Qwen3.5: CPU-S's vocabulary, width, depth and MLP in Qwen3.5's layers: three gated DeltaNet layers (4 key
     * heads and 8 value heads of 32) then one gated attention layer (8 heads of 32, 4 kv heads, a quarter rotated);
     * random N(0, 0.02) matrices, the DeltaNet's filters, decay logarithms and time-step biases as transformers
     * initialises them.
     *
     * @return a new model in memory; the caller closes it
     */
    public static LanguageModel cpuSQwen35() {
        ObjectNode c = cpuSConfig("qwen3_5_text").put("intermediate_size", 704).put("head_dim", 32)
                .put("linear_num_key_heads", 4).put("linear_num_value_heads", 8).put("linear_key_head_dim", 32)
                .put("linear_value_head_dim", 32).put("linear_conv_kernel_dim", 4);
        LanguageModel model = randomModel(c);
        SplittableRandom random = new SplittableRandom(1);
        for (var e : model.stateDict().entrySet()) {
            String n = e.getKey();
            // A drawn as transformers draws it; the time-step biases at its initial 1
            if (n.endsWith("conv1d.weight")) {
                StateDicts.fill(e.getValue(), () -> random.nextGaussian() * 0.02);
            } else if (n.endsWith("A_log")) {
                StateDicts.fill(e.getValue(), () -> Math.log(random.nextDouble(0.01, 16)));
            } else if (n.endsWith("dt_bias")) {
                StateDicts.fill(e.getValue(), () -> 1);
            }
        }
        return model;
    }

    /**
     * CPU-S-Granite-4.0-H: CPU-S's vocabulary, width, depth and MLP (the shared MLP) in Granite 4.0 H's layers: three
     * Mamba-2 layers (8 heads of 64, one group, a state of 32 per channel) then an attention layer (8 heads of 32, 4 kv
     * heads, no position encoding, as the published models); random N(0, 0.02) matrices, the convolutions' filters
     * and biases N(0, 0.02) and the decays, time-step biases and skips as transformers initialises them
     * ({@code log(1..8)}, ones, ones).
     *
     * @return a new model in memory; the caller closes it
     */
    public static LanguageModel cpuSGranite4H() {
        ObjectNode c = cpuSConfig("granitemoehybrid").put("shared_intermediate_size", 704).put("num_local_experts", 0)
                .put("position_embedding_type", "nope").put("mamba_n_heads", 8).put("mamba_d_head", 64)
                .put("mamba_d_state", 32).put("mamba_n_groups", 1).put("mamba_d_conv", 4);
        c.putArray("layer_types").add("mamba").add("mamba").add("mamba").add("attention");
        LanguageModel model = randomModel(c);
        SplittableRandom random = new SplittableRandom(1);
        for (var e : model.stateDict().entrySet()) {
            String n = e.getKey();
            if (n.contains(".mamba.conv1d.")) {
                StateDicts.fill(e.getValue(), () -> random.nextGaussian() * 0.02);
            } else if (n.endsWith(".mamba.A_log")) {
                int[] head = {0};
                StateDicts.fill(e.getValue(), () -> Math.log(++head[0]));
            } else if (n.endsWith(".mamba.D") || n.endsWith(".mamba.dt_bias")) {
                StateDicts.fill(e.getValue(), () -> 1);
            }
        }
        return model;
    }

    /**
     * CPU-S-LFM2: CPU-S's vocabulary, width, depth and MLP in LFM2's layers: three gated short-convolution layers
     * (width 3, no biases, as the published models) then an attention layer (8 heads of 32, 4 kv heads, per-head q/k
     * norms); the MLP 704 wide as given ({@code block_auto_adjust_ff_dim} off); random N(0, 0.02) matrices and
     * filters.
     *
     * @return a new model in memory; the caller closes it
     */
    public static LanguageModel cpuSLfm2() {
        ObjectNode c = cpuSConfig("lfm2").put("intermediate_size", 704).put("block_auto_adjust_ff_dim", false)
                .put("conv_L_cache", 3).put("norm_eps", 1e-6);
        c.putArray("layer_types").add("conv").add("conv").add("conv").add("full_attention");
        LanguageModel model = randomModel(c);
        SplittableRandom random = new SplittableRandom(1);
        for (var e : model.stateDict().entrySet()) {
            if (e.getKey().contains(".conv.conv.")) {
                StateDicts.fill(e.getValue(), () -> random.nextGaussian() * 0.02);
            }
        }
        return model;
    }

    private static ObjectNode cpuSConfig(String type) {
        return new ObjectMapper().createObjectNode().put("model_type", type).put("vocab_size", 4096).put("hidden_size", 256)
                .put("num_hidden_layers", 4).put("num_attention_heads", 8).put("num_key_value_heads", 4)
                .put("max_position_embeddings", 512).put("rms_norm_eps", 1e-6).put("rope_theta", 10000.0)
                .put("hidden_act", "silu").put("tie_word_embeddings", false);
    }

    private static LanguageModel randomModel(ObjectNode c) {
        LanguageModel model = AutoModel.newCausalLM(c, TensorScope.detached());
        StateDicts.initNormal(model, 0.02, new SplittableRandom(0));
        return model;
    }

    private static double forwardTokensPerSecond(LanguageModel model, long[][] ids) {
        List<Double> seconds = new ArrayList<>();
        for (int i = 0; i < WARMUP + MEASURED; i++) {
            long t0 = System.nanoTime();
            try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
                model.forward(ModelInput.of(ids, null));
            }
            seconds.add((System.nanoTime() - t0) / 1e9);
        }
        return BATCH * SEQ / median(seconds.subList(WARMUP, seconds.size()));
    }

    private static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static long processCpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L);
    }

    private static String vmHwm() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmHWM"))
                .map(l -> l.substring(6).trim()).findFirst().orElse("n/a");
    }
}
