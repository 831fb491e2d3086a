package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

/**
 * {@link FamilyReferencesTest}'s checks on each CUDA device of {@link CudaTestDevices}, float32 weights: Gemma,
 * Gemma 2 (soft caps), Gemma 3, Phi-3 (fused projections, partial rotary, longrope), the sliding-window families and
 * the mixtures of experts give their references' logits, masked logits, loss and greedy tokens, through the device's
 * windowed and soft-capped attention kernels and its row gathers (experts' tokens and results).
 */
class FamilyReferencesOnCudaTest {
    static Stream<Arguments> familiesOnDevices() {
        return CudaTestDevices.names().flatMap(device -> familiesFor(device).map(dir -> Arguments.of(dir, device)));
    }

    /**
     * Every family on a GPU; on the emulated device, whose kernels run slowly on the CPU, those whose parts differ
     * most from the families checked before (soft caps and four norms, two rotary tables and q/k norms, fused
     * projections with partial rotary and longrope, a mixture of experts with a shared expert and a dense layer,
     * gpt-oss's attention sinks and clamped stacked experts, Granite's multipliers, Olmo 3's norms after the
     * sub-blocks and across heads, Qwen3.5's linear attention and Granite 4.0 H's Mamba-2 layers with their recurrent
     * caches, GLM-4's partial rotary in adjacent pairs, Cohere 2's bias-free LayerNorms, parallel sub-blocks and
     * layers without rotary, LFM2's short convolutions and their cache, Falcon-H1's attention and Mamba-2 side by side
     * with one cache entry for both, its grouped gated norm and muP multipliers, Nemotron-H's one-block layers, MLP
     * layers without a cache entry and its time steps' floor); the windows' kernels, and the activations
     * and LayerNorms of the others, are checked there on their own (CudaKernelConformanceTest).
     */
    static Stream<String> familiesFor(String device) {
        return CudaTestDevices.emulated(device)
                ? Stream.of("references/gemma2", "references/gemma3_text", "references/phi3_longrope", "references/qwen2_moe",
                "references/gpt_oss", "references/granite", "references/olmo3", "references/qwen3_5",
                "references/granite4_h", "references/glm4", "references/cohere2", "references/lfm2",
                "references/falcon_h1",
                "references/nemotron_h",
                "references/gemma4_text", "references/gemma4_text_moe")
                : FamilyReferencesTest.families();
    }

    /**
     * The newer families' gradients: on a GPU every one's; on the emulated device GLM-4's interleaved partial rotary,
     * Cohere 2's LayerNorms and parallel sub-blocks, LFM2-MoE's short convolution and sigmoid router and GLM-4.5's
     * float32 router with its correction bias added on the device, DeepSeek-V3's latent attention, Apertus's xIELU
     * (its scalars' gradients reduced on the device), Ministral 3's query temperature (in the queries' rotary
     * tables on the device, forward and backward) and Mistral 4's (on whole latent query heads: the no-rope dims
     * through zero-angle tables), and Gemma 4's mixture beside the MLP (its router's norm and scales, each chosen
     * expert's scale gathered on the device, GeGLU experts held as weights).
     */
    static Stream<Arguments> newerFamiliesOnDevices() {
        return CudaTestDevices.names().flatMap(device -> (CudaTestDevices.emulated(device)
                ? Stream.of("glm4", "cohere2", "lfm2_moe", "glm4_moe", "deepseek_v3", "apertus", "ministral3",
                "mistral4", "gemma4_text_moe")
                : Stream.of("glm", "glm4", "ernie4_5", "cohere", "cohere_qk_norm", "cohere2", "exaone4", "seed_oss",
                "hunyuan_v1_dense",
                "starcoder2", "arcee", "apertus", "lfm2", "lfm2_moe", "glm4_moe", "ernie4_5_moe", "deepseek_v3",
                "deepseek_v3_lite", "deepseek_v2", "deepseek_v2_lite", "qwen3_next", "qwen3_vl", "falcon_h1",
                "falcon_h1_no_rms_norm", "ministral3", "mistral3", "ministral",
                "mistral4",
                "nemotron_h", "nemotron_h_moe",
                "gemma4_text", "gemma4_text_moe")).map(family -> Arguments.of(family, device)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("familiesOnDevices")
    void logitsMaskedLogitsAndLossMatch(String dir, String device) throws Exception {
        HfReferenceModelsTest.assertCausalLmMatchesTransformers(dir, CudaTestDevices.require(device));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("familiesOnDevices")
    void greedyGenerationMatchesWithAndWithoutCache(String dir, String device) throws Exception {
        HfReferenceModelsTest.assertGreedyGenerationMatchesTransformers(dir, CudaTestDevices.require(device));
    }

    /** The backward on the device against transformers' gradients. */
    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("newerFamiliesOnDevices")
    void newerFamiliesGradientsMatchTransformers(String family, String device) throws Exception {
        ReferenceGradients.assertMatch(family, CudaTestDevices.require(device));
    }

    @ParameterizedTest
    @MethodSource(CudaTestDevices.NAMES)
    void longropeUsesItsShortFactorsWithinThePretrainedLength(String device) throws Exception {
        HfReferenceModelsTest.assertPrefixLogitsMatch("references/phi3_longrope", "logits_short", 6,
                CudaTestDevices.require(device));
    }
}
