package dev.finetune4j.benchmarks.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.qlora.QloraInjector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU benchmark's plumbing on the CPU with the {@code tiny} shape: the JSON line has the anchor's fields,
 * computed from each other as the anchor computes them, the adapter learns (the loss goes down) in both precisions,
 * and bf16-mixed keeps its frozen weights in bf16 only, as the float32 weights of the same seed rounded. Peaks of
 * real shapes are forecast by {@link GpuStepForecastTest}.
 */
class LoraThroughputBenchmarkTest {
    private static final List<String> TINY = List.of("--config", "tiny", "--batch", "2", "--seq", "16", "--steps", "6",
            "--warmup", "1", "--device", "cpu");
    /** tiny: vocab 512, hidden 64, 2 layers, MLP 176, 4 heads of 16, 2 kv heads, untied head. */
    private static final long TINY_PARAMS = 512L * 64 * 2 + 2 * (64L * 64 * 2 + 64L * 32 * 2 + 3L * 64 * 176 + 2 * 64) + 64;

    @ParameterizedTest
    @ValueSource(strings = {"bf16-mixed", "f32"})
    void tinyShapeOnTheCpuPrintsTheAnchorsFieldsAndLearns(String precision) {
        JsonNode r = LoraThroughputBenchmark.run(options("--precision", precision, "--gradient-checkpointing"));
        for (String field : List.of("system", "config", "batch", "seq", "gradient_checkpointing", "dora",
                "tokens_per_s", "step_ms", "peak_gib", "mfu", "frozen_params", "final_loss", "device", "precision")) {
            assertTrue(r.has(field), "field " + field + " in " + r);
        }
        assertEquals("tiny", r.get("config").asText());
        assertEquals("cpu", r.get("device").asText());
        assertEquals(precision, r.get("precision").asText());
        assertTrue(r.get("gradient_checkpointing").asBoolean());
        assertEquals(TINY_PARAMS, r.get("frozen_params").asLong());
        double tokens = r.get("tokens_per_s").asDouble();
        assertEquals(2 * 16 / tokens * 1e3, r.get("step_ms").asDouble(), 0.01 + 1e-3 * r.get("step_ms").asDouble());
        assertEquals(4.0 * r.get("frozen_params").asLong() * tokens / 790e12, r.get("mfu").asDouble(), 1e-4);
        assertTrue(r.get("peak_gib").asDouble() > 0, r.toString());
        assertTrue(r.get("final_loss").asDouble() < r.get("first_loss").asDouble(), "the loss goes down: " + r);
    }

    @Test
    void bf16MixedIsTheDefaultAndHoldsOnlyBf16FrozenWeightsTheFloat32OnesRounded() {
        BenchmarkOptions o = options();
        assertEquals("bf16-mixed", o.precision());
        try (LanguageModel f32 = LoraThroughputBenchmark.randomBase(ModelShapes.config("tiny"), Device.cpu(), DType.F32, false);
             LanguageModel bf16 = LoraThroughputBenchmark.randomBase(ModelShapes.config("tiny"), Device.cpu(), o.frozenDType(), false)) {
            Map<String, Tensor> reference = f32.stateDict();
            for (Map.Entry<String, Tensor> e : bf16.stateDict().entrySet()) {
                assertEquals(DType.BF16, e.getValue().dtype(), e.getKey());
                float[] expected = reference.get(e.getKey()).toFloatArray();
                float[] actual = e.getValue().toFloatArray();
                for (int i = 0; i < expected.length; i++) {
                    float rounded = DTypeConversions.bf16ToFloat(DTypeConversions.floatToBf16(expected[i]));
                    assertEquals(rounded, actual[i], e.getKey() + "[" + i + "]");
                }
            }
            // only the bf16 weights stay: the float32 placeholders they replaced are freed
            assertEquals(2 * TINY_PARAMS, bf16.parameterScope().liveBytes());
            assertEquals(4 * TINY_PARAMS, f32.parameterScope().liveBytes());
        }
    }

    @Test
    void qloraBaseHoldsWhatQloraInjectorMakesOfTheBf16BaseWithoutEverHoldingTheDenseModel() {
        Device cpu = Device.cpu();
        long before = cpu.memory().allocatedBytes();
        cpu.backend().resetPeak();
        try (LanguageModel nf4 = LoraThroughputBenchmark.randomBase(ModelShapes.config("tiny"), cpu, DType.BF16, true)) {
            long built = cpu.memory().peakBytes() - before;
            // the finished weights, and while one NF4 weight is made its bf16 values: the largest, an MLP matrix
            long largestStaging = 2L * 64 * 176;
            assertTrue(built <= nf4.parameterScope().liveBytes() + largestStaging, () -> "building took " + built
                    + " bytes for " + nf4.parameterScope().liveBytes() + " bytes of weights");
            try (LanguageModel bf16 = LoraThroughputBenchmark.randomBase(ModelShapes.config("tiny"), cpu, DType.BF16, false)) {
                QloraInjector.quantize(bf16);
                Map<String, Tensor> reference = bf16.stateDict();
                for (Map.Entry<String, Tensor> e : nf4.stateDict().entrySet()) {
                    String name = e.getKey();
                    assertEquals(name.endsWith("proj.weight") ? DType.NF4 : DType.BF16, e.getValue().dtype(), name);
                    assertEquals(reference.get(name).dtype(), e.getValue().dtype(), name);
                    assertArrayEquals(reference.get(name).toFloatArray(), e.getValue().toFloatArray(), name);
                }
            }
        }
    }

    @Test
    void unknownFlagsAndPrecisionsAreRefusedWithTheFix() {
        var e = assertThrows(IllegalArgumentException.class, () -> BenchmarkOptions.parse(List.of("--config", "tiny", "--fast")));
        assertTrue(e.getMessage().contains("unknown argument '--fast'") && e.getMessage().contains("usage"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BenchmarkOptions.parse(List.of("--config", "tiny", "--precision", "bf16")));
        assertTrue(e.getMessage().contains("bf16-mixed") && e.getMessage().contains("f32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BenchmarkOptions.parse(List.of("--config", "gpt-5")));
        assertTrue(e.getMessage().contains("llama-1.1b-shape"), e.getMessage());
    }

    private static BenchmarkOptions options(String... more) {
        return BenchmarkOptions.parse(Stream.concat(TINY.stream(), Arrays.stream(more)).toList());
    }
}
