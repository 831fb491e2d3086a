package dev.finetune4j.benchmarks.gpu;

import dev.finetune4j.core.backend.cuda.FakeCudaProvider;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 15's memory goals, forecast without a GPU: the benchmark twin trains one step of each real shape on
 * {@code fakecuda:0}, the CUDA backend (its caching allocator and memory counters) over stand-in libraries that
 * compute nothing, so the peak it reports is the tensor memory the same step holds on an H200, counted as torch's
 * {@code max_memory_allocated} counts it for the anchor. Each bound is the goal as a fraction of Hugging
 * Face PEFT's peak on the same configuration (BENCHMARKS.md, H100), or, where the goal is not met yet, the
 * fraction reached (benchmarks/RESULTS.md says by how much it misses and what holds the memory).
 */
class DeviceMemoryForecastTest {

    @ParameterizedTest(name = "{0} B{1} x S{2} {3}: at most {5} x HF PEFT''s {4} GiB")
    @CsvSource({
            // goal: at most 0.6x HF PEFT's peak
            "qwen2-0.5b-shape, 8, 512, '', 15.54, 0.6",
            // goal 0.6x, reached 0.67x: the projections' bf16 outputs that only feed views and residual adds stay
            // alive until the step ends
            "llama-1.1b-shape, 8, 512, '', 14.77, 0.7",
            "llama-1.1b-shape, 2, 2048, '', 14.77, 0.7",
            // goal with gradient checkpointing: at most HF PEFT's peak
            "qwen2-0.5b-shape, 8, 512, --gradient-checkpointing, 8.22, 1.0",
            "llama-1.1b-shape, 8, 512, --gradient-checkpointing, 4.10, 1.0",
    })
    void aTrainingStepsPeakDeviceMemoryMeetsTheGoal(String config, int batch, int seq, String flag, double hfGib,
                                                    double fraction) {
        List<String> args = new ArrayList<>(List.of("--config", config, "--batch", String.valueOf(batch), "--seq",
                String.valueOf(seq), "--steps", "1", "--warmup", "1", "--device",
                new FakeCudaProvider().deviceType() + ":0"));
        if (!flag.isEmpty()) {
            args.add(flag);
        }
        double peak = LoraThroughputBenchmark.run(BenchmarkOptions.parse(args)).get("peak_gib").asDouble();
        assertTrue(peak > 0.5 && peak <= fraction * hfGib, config + " B" + batch + " x S" + seq + " " + flag
                + ": forecast peak " + peak + " GiB, more than " + fraction + " x HF PEFT's " + hfGib + " GiB");
    }
}
