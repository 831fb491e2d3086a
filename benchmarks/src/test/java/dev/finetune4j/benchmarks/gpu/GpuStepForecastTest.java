package dev.finetune4j.benchmarks.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.backend.cuda.FakeCudaProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 15's configurations forecast without a GPU: the benchmark twin trains one step of each real shape on
 * {@code fakecuda:0}, the CUDA backend (its caching allocator, memory and product counters) over stand-in libraries
 * that compute nothing. The peak it reports is the tensor memory the same step holds on an H200, counted as torch's
 * {@code max_memory_allocated} counts it for the anchor, and the product counters say which cuBLAS products the step
 * makes with float32 operands (off the tensor cores).
 */
class GpuStepForecastTest {
    private static final Map<List<String>, JsonNode> STEPS = new ConcurrentHashMap<>();

    /** Each bound is the goal as a fraction of Hugging Face PEFT's peak on the same configuration (BENCHMARKS.md, H100). */
    @ParameterizedTest(name = "{0} B{1} x S{2} {3}: at most {5} x HF PEFT''s {4} GiB")
    @CsvSource({
            // goal: at most 0.6x HF PEFT's peak
            "qwen2-0.5b-shape, 8, 512, '', 15.54, 0.6",
            "llama-1.1b-shape, 8, 512, '', 14.77, 0.6",
            "llama-1.1b-shape, 2, 2048, '', 14.77, 0.6",
            // goal with gradient checkpointing: at most HF PEFT's peak
            "qwen2-0.5b-shape, 8, 512, --gradient-checkpointing, 8.22, 1.0",
            "llama-1.1b-shape, 8, 512, --gradient-checkpointing, 4.10, 1.0",
    })
    void aTrainingStepsPeakDeviceMemoryMeetsTheGoal(String config, int batch, int seq, String flag, double hfGib,
                                                    double fraction) {
        double peak = step(config, batch, seq, flag).get("peak_gib").asDouble();
        assertTrue(peak > 0.5 && peak <= fraction * hfGib, config + " B" + batch + " x S" + seq + " " + flag
                + ": forecast peak " + peak + " GiB, more than " + fraction + " x HF PEFT's " + hfGib + " GiB");
    }

    /**
     * Under bf16-mixed every product of a step, forward and backward, LoRA's small ones and QLoRA's NF4 base
     * included, has 16-bit operands: before the backward read its gradients as bf16 and NF4 weights were
     * dequantized to bf16, 49% (LoRA) and 89% (QLoRA) of the llama step's product work ran in float32. And the step
     * launches what its layers need, not one kernel per adapter tensor for the optimizer, the norms and the zeroing
     * (5,479 launches per llama LoRA step before the multi-tensor kernels; 3,129 after; 2,648 once products, norms,
     * SwiGLU and rotary wrote their bf16 results themselves instead of through rounding copies; 2,185 once LoRA's
     * low-rank products wrote bf16, norms read bf16 weights, and attention and rotary's backward wrote in the
     * projections' token-major order; 2,078 once the linears and norms added their input gradients into those
     * accumulated so far instead of the backward pass adding them up; 1,775 once a step's trainable masters were
     * rounded to bf16 in one launch, not at each product). DoRA: 6,542 before its dot products had a kernel of their
     * own, 5,007 after.
     */
    @ParameterizedTest(name = "{0} {1}: at most {2} launches")
    @CsvSource({
            "llama-1.1b-shape, '', 1850",
            "llama-1.1b-shape, --qlora, 2450",
            "llama-1.1b-shape, --dora, 5200",
            "qwen2-0.5b-shape, --gradient-checkpointing, 3300",
    })
    void aBf16MixedStepsProductsHaveSixteenBitOperandsAndItsLaunchesStayFew(String config, String flag, long launches) {
        JsonNode r = step(config, 8, 512, flag);
        assertTrue(r.get("gemm_tflop_per_step").asDouble() > 5, r.toString());
        assertEquals(0.0, r.get("gemm_f32_share").asDouble(), r.toString());
        assertTrue(r.get("launches_per_step").asLong() <= launches, r.toString());
    }

    /**
     * QLoRA as its practice trains (PEFT's {@code prepare_model_for_kbit_training} turns gradient checkpointing on
     * by default): at most half of LoRA's peak on the same shape and batch. NF4 alone cannot make that at this shape:
     * the llama step's activations (about 6 GiB) outweigh its bf16 weights (2.1 GiB); without checkpointing QLoRA
     * holds 0.84x of LoRA's peak.
     */
    @Test
    void checkpointedQloraHoldsAtMostHalfOfLorasPeak() {
        double lora = step("llama-1.1b-shape", 8, 512, "").get("peak_gib").asDouble();
        double qlora = step("llama-1.1b-shape", 8, 512, "--qlora --gradient-checkpointing").get("peak_gib").asDouble();
        assertTrue(qlora > 0.5 && qlora <= 0.5 * lora, "QLoRA with checkpointing " + qlora + " GiB, LoRA " + lora + " GiB");
    }

    /**
     * {@code --profile} adds one profiled step after the timed ones: on the fake device, where each queued operation
     * takes the same time, every one of its operations is timed (busy equals wall) and the timed steps' counts are
     * those of a run without it.
     */
    @Test
    void aProfiledStepAfterTheTimedOnesTimesAllItsWork() {
        JsonNode plain = step("tiny", 2, 16, "");
        JsonNode profiled = step("tiny", 2, 16, "--profile");
        assertEquals(plain.get("launches_per_step"), profiled.get("launches_per_step"));
        JsonNode profile = profiled.get("profile");
        assertEquals(profile.get("wall_ms").asDouble(), profile.get("busy_ms").asDouble(), 1e-3, profile.toString());
        assertEquals(LoraThroughputBenchmark.PROFILE_ROWS, profile.get("top").size(), profile.toString());
        double previous = Double.MAX_VALUE;
        for (JsonNode entry : profile.get("top")) {
            assertTrue(entry.get("ms").asDouble() <= previous, "the most expensive first: " + profile);
            previous = entry.get("ms").asDouble();
        }
        assertTrue(plain.path("profile").isMissingNode() && profiled.path("profile_error").isMissingNode());
    }

    /** One step's report with {@code flags} (space-separated), run once per arguments for the whole class. */
    private static JsonNode step(String config, int batch, int seq, String flags) {
        List<String> args = new ArrayList<>(List.of("--config", config, "--batch", String.valueOf(batch), "--seq",
                String.valueOf(seq), "--steps", "1", "--warmup", "1", "--device",
                new FakeCudaProvider().deviceType() + ":0"));
        if (!flags.isEmpty()) {
            args.addAll(List.of(flags.split(" ")));
        }
        return STEPS.computeIfAbsent(args, a -> LoraThroughputBenchmark.run(BenchmarkOptions.parse(a)));
    }
}
