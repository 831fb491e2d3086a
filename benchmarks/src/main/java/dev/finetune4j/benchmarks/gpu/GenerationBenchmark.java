package dev.finetune4j.benchmarks.gpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DeviceCounters;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.DType;

import java.util.List;
import java.util.SplittableRandom;

import static dev.finetune4j.benchmarks.gpu.LoraThroughputBenchmark.gib;
import static dev.finetune4j.benchmarks.gpu.LoraThroughputBenchmark.round;

/**
 * Greedy generation on a device from a model of one of {@link ModelShapes#NAMES} with random bf16 weights (a bf16
 * checkpoint, as served): a batch of prompts read, then new tokens decoded with the KV cache, in {@code f32} or
 * {@code bf16-mixed}. Prints one JSON line: time to the first token, decoded tokens per second, and per decoding
 * step (one new token for every row; the prompt's pass subtracted) the kernels launched, the product work and its
 * float32 share (products that convert the bf16 weights to float32 and miss the tensor cores), and the peak tensor
 * memory. On
 * {@code fakecuda:0} (core's test classes), which computes nothing, the counts and the memory are the forecast.
 *
 * <pre>{@code
 * java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp ... \
 *     dev.finetune4j.benchmarks.gpu.GenerationBenchmark llama-1.1b-shape cuda:0 bf16-mixed [batch] [prompt] [new]
 * }</pre>
 */
public final class GenerationBenchmark {
    private GenerationBenchmark() {
    }

    /**
     * Runs one configuration and prints its JSON line.
     *
     * @param args config, device, precision ({@code f32} or {@code bf16-mixed}), and optionally the batch (default
     *             1), prompt tokens (512) and new tokens (64)
     */
    public static void main(String[] args) {
        if (args.length < 3) {
            throw new IllegalArgumentException("usage: GenerationBenchmark CONFIG DEVICE f32|bf16-mixed [batch] [prompt] "
                    + "[new]; CONFIG is one of " + ModelShapes.NAMES);
        }
        List<String> a = List.of(args);
        int batch = a.size() > 3 ? Integer.parseInt(a.get(3)) : 1;
        int promptTokens = a.size() > 4 ? Integer.parseInt(a.get(4)) : 512;
        int newTokens = a.size() > 5 ? Integer.parseInt(a.get(5)) : 64;
        System.out.println(run(a.get(0), Device.parse(a.get(1)), BenchmarkOptions.precisionNamed(a.get(2)), batch, promptTokens, newTokens));
    }

    static ObjectNode run(String config, Device device, Precision precision, int batch, int promptTokens, int newTokens) {
        ObjectNode shape = ModelShapes.config(config);
        long[][] prompts = new long[batch][];
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < batch; i++) {
            prompts[i] = random.longs(promptTokens, 0, shape.get("vocab_size").asInt()).toArray();
        }
        try (LanguageModel lm = LoraThroughputBenchmark.randomBase(shape, device, DType.BF16, false);
             var numbers = precision.use()) {
            Generator.generate(lm, prompts, GenerationConfig.greedy(2)); // warm-up: kernels compiled, memory cached
            device.backend().resetPeak();
            DeviceCounters start = device.counters();
            long t0 = System.nanoTime();
            Generator.generate(lm, prompts, GenerationConfig.greedy(1));
            long t1 = System.nanoTime();
            DeviceCounters afterPrompt = device.counters();
            Generator.generate(lm, prompts, GenerationConfig.greedy(newTokens));
            long t2 = System.nanoTime();
            DeviceCounters prompt = afterPrompt.since(start);
            DeviceCounters decode = device.counters().since(afterPrompt);
            // the second generation reads the prompt again: take the first's work out of it
            long decoded = (long) batch * (newTokens - 1);
            double decodeSeconds = ((t2 - t1) - (t1 - t0)) / 1e9;
            long launches = decode.launches() - prompt.launches();
            double half = decode.halfGemmFlops() - prompt.halfGemmFlops();
            double f32 = decode.float32GemmFlops() - prompt.float32GemmFlops();
            ObjectNode r = new ObjectMapper().createObjectNode();
            r.put("system", "finetune4j").put("config", config).put("device", device.toString())
                    .put("precision", precision == Precision.BF16_MIXED ? "bf16-mixed" : "f32").put("batch", batch)
                    .put("prompt_tokens", promptTokens).put("new_tokens", newTokens)
                    .put("ttft_ms", round((t1 - t0) / 1e6, 1))
                    .put("decode_tokens_per_s", round(decoded / decodeSeconds, 1))
                    .put("launches_per_step", round((double) launches / (newTokens - 1), 1))
                    .put("gemm_gflop_per_step", round((half + f32) / (newTokens - 1) / 1e9, 3))
                    .put("gemm_f32_share", half + f32 == 0 ? 0 : round(f32 / (half + f32), 4))
                    .put("peak_gib", gib(device.memory().peakBytes()));
            return r;
        }
    }
}
