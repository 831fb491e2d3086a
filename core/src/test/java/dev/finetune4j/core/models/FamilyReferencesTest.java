package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.stream.Stream;

/**
 * Gemma, Gemma 2, Gemma 3 (text), Phi-3 (with partial rotary and longrope), sliding-window Mistral and Qwen2, Granite
 * 3 and 4 (with and without rotary), OLMo 2, Olmo 3, SmolLM3, Qwen3-VL's language model, Qwen3.5 (gated DeltaNet and gated attention),
 * Falcon-H1 (attention and Mamba-2 side by side, with and without the gated norm; transformers_families.py), Ministral
 * 3 (Llama 4's query temperature over YaRN), Mistral 3's language model (a ministral3 inside a
 * Mistral3ForConditionalGeneration, stored in transformers 4's names), Ministral (sliding and full layers), Mistral 4
 * (latent attention with the temperature on whole query heads, a grouped softmax router, fused experts), Gemma 4's
 * language model (per-layer head sizes and rotary, keys as values, per-layer inputs, kv-shared layers; with its
 * mixture of experts beside the MLP), and the
 * mixtures of experts Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE, gpt-oss and Qwen3.5-MoE against
 * references/ made by tools/reference/families_torch.py: a PyTorch re-implementation of transformers 5's
 * code for these families, written apart from this project's Java and checked against the transformers-made
 * folders (within 9e-7; references/families_versions.json). Each fixture's window of 6, soft caps, longrope
 * switch, renormalised or plain routing weights, top-k, shared expert and dense layer change its outputs (the script
 * checks that), so a model ignoring one fails here.
 * tools/reference/verify_with_transformers.py recomputes the same folders with transformers itself where it is
 * installed (the GPU machine).
 */
class FamilyReferencesTest {

    static Stream<String> families() {
        return Stream.of("references/gemma", "references/gemma2", "references/gemma3_text", "references/phi3",
                "references/phi3_longrope", "references/mistral_sliding", "references/qwen2_sliding",
                "references/granite", "references/granite4", "references/granite4_nope", "references/granite4_h",
                "references/granite4_h_moe", "references/granitemoe", "references/granitemoeshared",
                "references/olmo2",
                "references/olmo3", "references/smollm3", "references/glm", "references/glm4", "references/ernie4_5",
                "references/cohere", "references/cohere_qk_norm", "references/cohere2", "references/exaone4",
                "references/seed_oss",
                "references/hunyuan_v1_dense", "references/starcoder2", "references/arcee", "references/apertus",
                "references/lfm2",
                "references/lfm2_moe", "references/glm4_moe", "references/ernie4_5_moe",
                "references/deepseek_v3", "references/deepseek_v3_lite", "references/qwen3_next", "references/deepseek_v2",
                "references/deepseek_v2_lite", "references/qwen3_vl_moe", "references/qwen3_vl",
                "references/mixtral", "references/qwen2_moe",
                "references/qwen3_moe", "references/olmoe", "references/gpt_oss", "references/qwen3_5", "references/qwen3_5_moe",
                "references/falcon_h1", "references/falcon_h1_no_rms_norm",
                "references/ministral3", "references/mistral3", "references/ministral",
                "references/mistral4",
                "references/nemotron_h", "references/nemotron_h_moe",
                "references/gemma4_text", "references/gemma4_text_moe");
    }

    /**
     * Greedy generation, with the KV cache and without; phi3_longrope's 6-token prompt grows past its pretrained 8
     * positions, where transformers recomputes the cache with the long factors (its fixture's tokens differ from
     * those of a cache kept across the switch).
     */
    static Stream<String> greedyFamilies() {
        return families();
    }

    @ParameterizedTest
    @MethodSource("families")
    void logitsMaskedLogitsAndLossMatch(String dir) throws Exception {
        HfReferenceModelsTest.assertCausalLmMatchesTransformers(dir, Device.cpu());
    }

    /** A 6-token pass stays within phi3_longrope's pretrained 8 positions, so it rotates with the short factors. */
    @Test
    void longropeUsesItsShortFactorsWithinThePretrainedLength() throws Exception {
        HfReferenceModelsTest.assertPrefixLogitsMatch("references/phi3_longrope", "logits_short", 6, Device.cpu());
    }

    /** The folders made by transformers itself hold gradients (tools/reference/transformers_families.py). */
    @ParameterizedTest
    @ValueSource(strings = {"glm", "glm4", "ernie4_5", "cohere", "cohere_qk_norm", "cohere2", "exaone4", "seed_oss",
            "hunyuan_v1_dense",
            "starcoder2", "arcee", "apertus", "lfm2", "lfm2_moe", "glm4_moe", "ernie4_5_moe", "qwen3_vl",
            "deepseek_v3", "deepseek_v3_lite", "qwen3_next", "deepseek_v2", "deepseek_v2_lite",
            "qwen3_vl_moe", "falcon_h1", "falcon_h1_no_rms_norm",
            "ministral3", "mistral3", "ministral",
            "mistral4",
            "nemotron_h", "nemotron_h_moe",
            "gemma4_text", "gemma4_text_moe"})
    void gradientsMatchTransformers(String family) throws Exception {
        ReferenceGradients.assertMatch(family, Device.cpu());
    }

    /**
     * Row 1 padded on the left: LFM2's, Qwen3-Next's and Falcon-H1's recurrent layers (transformers zeroes the padding
     * before each convolution layer's in_proj, whose biases, where there are some, still reach the convolution's later
     * real tokens), and the newer mixtures' routing of padded rows.
     */
    @ParameterizedTest
    @ValueSource(strings = {"lfm2", "lfm2_moe", "qwen3_next", "glm4_moe", "ernie4_5_moe", "deepseek_v3", "deepseek_v3_lite",
            "deepseek_v2", "deepseek_v2_lite", "qwen3_vl_moe", "falcon_h1", "falcon_h1_no_rms_norm",
            "mistral4",
            "nemotron_h", "nemotron_h_moe",
            "gemma4_text", "gemma4_text_moe"})
    void leftPaddedBatchMatchesTransformersAtItsRealPositions(String family) throws Exception {
        HfReferenceModelsTest.assertLeftPaddedBatchMatches("references/" + family);
    }

    @ParameterizedTest
    @MethodSource("greedyFamilies")
    void greedyGenerationMatchesWithAndWithoutCache(String dir) throws Exception {
        HfReferenceModelsTest.assertGreedyGenerationMatchesTransformers(dir, Device.cpu());
    }
}
