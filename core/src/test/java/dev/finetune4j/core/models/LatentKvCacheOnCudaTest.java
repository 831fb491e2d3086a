package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.tensor.DType;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link LatentKvCacheTest}'s checks on each CUDA device of {@link CudaTestDevices}: the latents cached and read back
 * on the device, attention over them in latent space (one key head, the latent's width) and over the expanded heads;
 * on the emulated device DeepSeek-V3 (query LoRA) and Mistral 4 (the query temperature), on a GPU every family; and a
 * latent wider than the kernels take ({@link WideLatentFolder}).
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

    /**
     * A latent of DeepSeek-V3's rank (512 + 4 rotated dimensions), wider than the kernels take: decoding attends in
     * latent space by the composed attention, and gives transformers' greedy tokens, the uncached pass's, and, within
     * {@value LatentKvCacheTest#LOGITS_TOLERANCE}, the uncached logits (expanded heads of 10 dimensions, which the
     * kernels take) on the same device.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(CudaTestDevices.NAMES)
    void latentWiderThanTheKernelsDecodes(String device, @TempDir Path tmp) throws Exception {
        Device on = CudaTestDevices.require(device);
        Path dir = WideLatentFolder.write(tmp.resolve("wide"));
        long[] prompt = WideLatentFolder.PROMPT;
        long[] expected = LongStream.concat(LongStream.of(prompt), LongStream.of(WideLatentFolder.REFERENCE_OUTPUT))
                .toArray();
        int newTokens = WideLatentFolder.REFERENCE_OUTPUT.length;
        try (LanguageModel lm = AutoModel.loadCausalLM(dir, LoadOptions.builder().dtype(DType.F32).device(on).build())) {
            int width = WideLatentFolder.WIDTH;
            assertTrue(width > on.backend().attention().maxHeadDim(), "the latent fits the kernels: nothing tested");
            assertArrayEquals(expected, Generator.generate(lm, prompt, GenerationConfig.greedy(newTokens)),
                    "cached greedy tokens vs transformers'");
            assertArrayEquals(expected, Generator.generate(lm, prompt, GenerationConfig.builder()
                    .maxNewTokens(newTokens).useCache(false).build()), "uncached greedy tokens vs transformers'");
            float[][] uncached = lm.logits(new long[][]{expected}, null)[0];
            LatentKvCacheTest.assertDecodedLogitsMatch(lm, prompt, expected, uncached, width,
                    "516-wide latent on " + on);
        }
    }
}
