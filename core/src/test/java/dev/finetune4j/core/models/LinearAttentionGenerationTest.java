package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Generation through recurrent layers, whose state replaces a KV cache (Qwen3.5's gated DeltaNet, Granite 4.0 H's
 * Mamba-2, LFM2's short convolution): with the cache it equals recomputing every prefix; a left-padded batch equals each prompt alone (the
 * padding must leave the state at zero); packed examples equal each alone; and a prompt longer than one kept state
 * gives the same logits as the layers' definition does token by token (checked through the cache: the prompt's last
 * logits equal a pass fed one token at a time).
 */
class LinearAttentionGenerationTest {

    /**
     * The hybrids: three recurrent layers and one attention layer each (Qwen3.5, Granite 4.0 H, LFM2); Falcon-H1's
     * attention and Mamba-2 side by side in all four layers; Nemotron-H's blocks of one kind each.
     */
    enum Hybrid {
        QWEN35, GRANITE4_H, LFM2, FALCON_H1, NEMOTRON_H;

        LanguageModel randomModel() {
            ObjectNode c = new ObjectMapper().createObjectNode();
            c.put("vocab_size", 97).put("hidden_size", 32).put("num_hidden_layers", 4).put("num_attention_heads", 2)
                    .put("num_key_value_heads", 1).put("max_position_embeddings", 512);
            if (this == QWEN35) {
                c.put("model_type", "qwen3_5_text").put("intermediate_size", 48).put("head_dim", 16)
                        .put("linear_num_key_heads", 1).put("linear_num_value_heads", 2).put("linear_key_head_dim", 8)
                        .put("linear_value_head_dim", 8);
            } else if (this == LFM2) {
                // no biases, as the published LFM2s: a biased in_proj would carry the left padding into the
                // convolution (as transformers does, references/lfm2), so a padded prompt would not equal itself alone
                c.put("model_type", "lfm2").put("intermediate_size", 72).put("block_multiple_of", 16);
                c.putArray("layer_types").add("conv").add("full_attention").add("conv").add("conv");
            } else if (this == FALCON_H1) {
                c.put("model_type", "falcon_h1").put("intermediate_size", 48).put("head_dim", 16)
                        .put("mamba_n_heads", 4).put("mamba_n_groups", 2).put("mamba_d_state", 8)
                        .put("mamba_d_ssm", 32).put("mamba_rms_norm", true).put("ssm_in_multiplier", 1.3);
            } else if (this == NEMOTRON_H) {
                c.put("model_type", "nemotron_h").put("intermediate_size", 48).put("head_dim", 16)
                        .put("hybrid_override_pattern", "M*M-").put("mamba_num_heads", 4).put("mamba_head_dim", 8)
                        .put("n_groups", 2).put("ssm_state_size", 8);
            } else {
                c.put("model_type", "granitemoehybrid").put("shared_intermediate_size", 48).put("num_local_experts", 0)
                        .put("mamba_n_heads", 4).put("mamba_n_groups", 2).put("mamba_d_state", 8)
                        .put("embedding_multiplier", 4.0).put("residual_multiplier", 0.5).put("logits_scaling", 2.0);
                c.putArray("layer_types").add("mamba").add("attention").add("mamba").add("mamba");
            }
            LanguageModel lm = AutoModel.newCausalLM(c, TensorScope.detached(Device.cpu()));
            SplittableRandom random = new SplittableRandom(5);
            StateDicts.initNormal((Module) lm, 0.3, random);
            RecurrentConstants.drawUniform((Module) lm, random, 0.8);
            return lm;
        }
    }

    @ParameterizedTest
    @EnumSource(Hybrid.class)
    void cachedGenerationEqualsRecomputation(Hybrid hybrid) {
        try (LanguageModel lm = hybrid.randomModel()) {
            long[] prompt = {3, 14, 15, 92, 65, 35};
            long[] cached = Generator.generate(lm, prompt, GenerationConfig.greedy(12));
            long[] uncached = Generator.generate(lm, prompt,
                    GenerationConfig.builder().maxNewTokens(12).useCache(false).build());
            assertArrayEquals(uncached, cached, "cached " + Arrays.toString(cached));
        }
    }

    /** A left-padded row's logits equal the prompt's alone: the padding leaves the state at zero. */
    @ParameterizedTest
    @EnumSource(Hybrid.class)
    void leftPaddingLeavesTheStateAtZero(Hybrid hybrid) {
        try (LanguageModel lm = hybrid.randomModel()) {
            long[] prompt = {26, 53, 58, 7};
            long[][] padded = {{5, 5, 5, 26, 53, 58, 7}};
            long[][] mask = {{0, 0, 0, 1, 1, 1, 1}};
            float[][] alone = lm.logits(new long[][]{prompt}, null)[0];
            float[][] withPadding = lm.logits(padded, mask)[0];
            for (int i = 0; i < prompt.length; i++) {
                assertArrayEquals(alone[i], withPadding[i + 3], 1e-5f, "position " + i);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Hybrid.class)
    void leftPaddedBatchEqualsEachPromptAlone(Hybrid hybrid) {
        try (LanguageModel lm = hybrid.randomModel()) {
            long[][] prompts = {{3, 14, 15, 92, 65, 35, 89, 79}, {26, 53}, {58, 97 - 1, 23, 84}};
            long[][] batched = Generator.generate(lm, prompts, GenerationConfig.greedy(7));
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(Generator.generate(lm, prompts[i], GenerationConfig.greedy(7)), batched[i], "prompt " + i);
            }
        }
    }

    /**
     * Examples packed into one row (5, 1 and 4 tokens, then 2 of padding's own segment) give each example's logits
     * alone: the convolutions read nothing across an example's start and the states restart there.
     */
    @ParameterizedTest
    @EnumSource(Hybrid.class)
    void packedExamplesGiveTheLogitsOfEachAlone(Hybrid hybrid) {
        long[][] examples = {{3, 14, 15, 92, 65}, {35}, {89, 79, 32, 38}};
        long[] row = {3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 0, 0};
        int[] segment = {0, 0, 0, 0, 0, 1, 2, 2, 2, 2, 3, 3};
        try (LanguageModel lm = hybrid.randomModel(); var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            float[] packed = lm.forward(new ModelInput(new long[][]{row}, null, null, new int[][]{segment}, null))
                    .toFloatArray();
            int vocab = packed.length / row.length;
            int at = 0;
            for (long[] example : examples) {
                float[][] alone = lm.logits(new long[][]{example}, null)[0];
                for (int i = 0; i < example.length; i++) {
                    float[] token = Arrays.copyOfRange(packed, (at + i) * vocab, (at + i + 1) * vocab);
                    assertArrayEquals(alone[i], token, 2e-5f, hybrid + " token " + (at + i));
                }
                at += example.length;
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Hybrid.class)
    void longPromptLogitsEqualTokenByTokenFeeding(Hybrid hybrid) {
        try (LanguageModel lm = hybrid.randomModel(); var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            long[][] ids = new long[1][150];
            for (int i = 0; i < ids[0].length; i++) {
                ids[0][i] = (i * 37L + 11) % 97;
            }
            Tensor whole = lm.forward(ModelInput.of(ids, null));
            float[] last = whole.slice(1, 149, 150).toFloatArray();
            var cache = dev.finetune4j.core.nn.KvCache.forGeneration(4, 150);
            float[] stepped = null;
            for (int i = 0; i < 150; i++) {
                long[][] one = {{ids[0][i]}};
                int[][] position = {{i}};
                stepped = lm.forward(new ModelInput(one, null, null, null, cache, position)).toFloatArray();
            }
            assertEquals(150, cache.length());
            assertArrayEquals(last, stepped, 2e-5f);
        }
    }
}
