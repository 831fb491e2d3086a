package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

/**
 * {@link LatentKvCacheTest}'s checks on each CUDA device of {@link CudaTestDevices}: the latents cached and read back
 * on the device, attention over them in latent space (one key head, the latent's width) and over the expanded heads;
 * on the emulated device DeepSeek-V3 (query LoRA) and Mistral 4 (the query temperature), on a GPU every family.
 */
class LatentKvCacheOnCudaTest {
    static Stream<Arguments> familiesOnDevices() {
        return CudaTestDevices.names().flatMap(device -> (CudaTestDevices.emulated(device)
                ? Stream.of("deepseek_v3", "mistral4")
                : Stream.of("deepseek_v3", "deepseek_v3_lite", "deepseek_v2", "deepseek_v2_lite", "mistral4"))
                .map(family -> Arguments.of(family, device)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("familiesOnDevices")
    void cacheHoldsLatentsAndGenerationMatches(String family, String device) throws Exception {
        LatentKvCacheTest.assertLatentCacheMatches("references/" + family, CudaTestDevices.require(device));
    }
}
