package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DeviceCounters;
import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Bf16InferenceTest}'s checks on each CUDA device of {@link CudaTestDevices}, and what they are for there:
 * under {@link Precision#BF16_MIXED} every product of a generation multiplies bf16 operands (the tensor cores'
 * format, reading the bf16 weights as they are), where under {@link Precision#F32} each product converts its bf16
 * weight to a float32 copy and multiplies in float32.
 */
class Bf16InferenceOnCudaTest {
    static Stream<Arguments> causalLmsOnDevices() {
        // the new families in bf16 on a GPU; the emulated device checks them in float32 (FamilyReferencesOnCudaTest)
        return CudaTestDevices.names().flatMap(d -> Stream.concat(HfReferenceModelsTest.causalLms(),
                CudaTestDevices.emulated(d) ? Stream.empty() : FamilyReferencesTest.families())
                .map(dir -> Arguments.of(dir, d)));
    }

    /** {@link #causalLmsOnDevices()} but Qwen3.5's fixtures, too sensitive to bf16 for the bound (Bf16InferenceTest). */
    static Stream<Arguments> logitCasesOnDevices() {
        return causalLmsOnDevices().filter(a -> !((String) a.get()[0]).startsWith("references/qwen3_5"));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("logitCasesOnDevices")
    void logitsStayNearTransformersFloat32(String dir, String device) throws Exception {
        Bf16InferenceTest.assertLogitsNearTransformers(dir, CudaTestDevices.require(device));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("causalLmsOnDevices")
    void greedyGenerationIsTheSameWithAndWithoutTheCache(String dir, String device) throws Exception {
        Bf16InferenceTest.assertCacheKeepsBf16AndChangesNoToken(dir, CudaTestDevices.require(device));
    }

    @ParameterizedTest
    @MethodSource(CudaTestDevices.NAMES)
    void everyProductOfABf16GenerationMultipliesBf16Operands(String name) {
        Device device = CudaTestDevices.require(name);
        try (LanguageModel lm = Bf16InferenceTest.loadBf16("hf-tiny/llama", device)) {
            DeviceCounters mixed = generationCounters(lm, device, Precision.BF16_MIXED);
            assertEquals(0, mixed.float32GemmFlops(), "float32 products under BF16_MIXED on " + name);
            assertTrue(mixed.halfGemmFlops() > 0, "bf16 products under BF16_MIXED on " + name);
            DeviceCounters f32 = generationCounters(lm, device, Precision.F32);
            assertEquals(0, f32.halfGemmFlops(), "bf16 products under F32 on " + name);
            assertEquals(mixed.halfGemmFlops(), f32.float32GemmFlops(), "the same products, in float32, on " + name);
        }
    }

    private static DeviceCounters generationCounters(LanguageModel lm, Device device, Precision precision) {
        DeviceCounters before = device.counters();
        try (var p = precision.use()) {
            Generator.generate(lm, new long[][]{{5, 17, 3, 9}, {8, 40}}, GenerationConfig.greedy(6));
        }
        return device.counters().since(before);
    }
}
