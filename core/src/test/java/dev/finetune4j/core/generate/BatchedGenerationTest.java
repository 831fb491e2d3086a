package dev.finetune4j.core.generate;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ReferenceData;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batched, left-padded generation returns row for row what one-at-a-time generation returns. */
class BatchedGenerationTest {
    private static final long[][] PROMPTS = {{5, 17, 3, 9, 12, 40, 2}, {8}, {33, 4, 19}};

    @ParameterizedTest
    @ValueSource(strings = {"hf-tiny/llama", "hf-tiny/qwen2", "hf-tiny/gpt2", "references/qwen3"})
    void batchEqualsOneAtATime(String dir) throws Exception {
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource(dir))) {
            for (GenerationConfig cfg : new GenerationConfig[]{
                    GenerationConfig.greedy(12),
                    GenerationConfig.builder().maxNewTokens(12).useCache(false).build(),
                    GenerationConfig.builder().maxNewTokens(10).temperature(0.9f).topK(20).seed(7).build()}) {
                long[][] batched = Generator.generate(lm, PROMPTS, cfg);
                for (int i = 0; i < PROMPTS.length; i++) {
                    assertArrayEquals(Generator.generate(lm, PROMPTS[i], cfg), batched[i], dir + " row " + i + " " + cfg);
                }
            }
        }
    }

    /** One prompt repeated with a seed per row (GRPO's group of samples): each row is that seed's own sample. */
    @Test
    void seedsPerRowSampleEachRowFromItsOwnStream() throws Exception {
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource("hf-tiny/llama"))) {
            GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(10).temperature(1f).seed(99).build();
            long[][] prompts = {PROMPTS[0], PROMPTS[0], PROMPTS[1], PROMPTS[0]};
            long[] seeds = {11, 12, 13, 11};
            long[][] batched = Generator.generate(lm, prompts, cfg, seeds);
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(Generator.generate(lm, prompts[i], cfg.withSeed(seeds[i])), batched[i], "row " + i);
            }
            assertArrayEquals(batched[0], batched[3], "the same prompt and seed give the same sample");
            assertTrue(!Arrays.equals(batched[0], batched[1]), "two seeds of one prompt gave the same "
                    + "10 sampled tokens at temperature 1");
            var e = assertThrows(IllegalArgumentException.class, () -> Generator.generate(lm, prompts, cfg, new long[2]));
            assertTrue(e.getMessage().contains("one sampling seed per prompt"), e.getMessage());
        }
    }

    @Test
    void rowsStopOnTheirOwn() throws Exception {
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource("hf-tiny/llama"))) {
            long[] alone = Generator.generate(lm, PROMPTS[1], GenerationConfig.greedy(8));
            long stop = alone[PROMPTS[1].length + 1];
            GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(8).stopTokens(Set.of(stop)).build();
            long[][] batched = Generator.generate(lm, PROMPTS, cfg);
            for (int i = 0; i < PROMPTS.length; i++) {
                assertArrayEquals(Generator.generate(lm, PROMPTS[i], cfg), batched[i], "row " + i);
            }
            assertEquals(stop, batched[1][batched[1].length - 1]);
        }
    }

    @Test
    void aPromptWithoutRoomIsRefused() throws Exception {
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource("hf-tiny/llama"))) {
            long[] tooLong = new long[lm.maxPositionEmbeddings()];
            var e = assertThrows(IllegalArgumentException.class, () -> Generator.generate(lm, tooLong, GenerationConfig.greedy(1)));
            assertTrue(e.getMessage().contains("max_position_embeddings"), e.getMessage());
            var tooMany = assertThrows(IllegalArgumentException.class, () -> lm.logits(new long[1][lm.maxPositionEmbeddings() + 1], null));
            assertTrue(tooMany.getMessage().contains("max_position_embeddings"), tooMany.getMessage());
            long[] out = Generator.generate(lm, PROMPTS[0], GenerationConfig.greedy(Integer.MAX_VALUE));
            assertEquals(lm.maxPositionEmbeddings(), out.length, "an unbounded request ends at the last position");
        }
    }

    /** Each step copies only the new positions; the buffers double when full, holding what was cached. */
    @Test
    void theGenerationCacheGrowsGeometricallyAndKeepsItsContents() {
        try (var scope = TensorScope.open()) {
            KvCache cache = KvCache.forGeneration(1, 4);
            float[] all = new float[2 * 2 * 11 * 3];
            for (int step = 0, at = 0; at < 11; step++) {
                int t = step == 0 ? 3 : 1;
                float[] k = new float[2 * 2 * t * 3];
                for (int i = 0; i < k.length; i++) {
                    k[i] = 1000 * step + i;
                }
                Tensor kt = Tensor.of(k, 2, 2, t, 3);
                Tensor[] kv = cache.extend(0, kt, kt);
                at += t;
                assertEquals(at, kv[0].dim(2));
                for (int bh = 0; bh < 4; bh++) {
                    System.arraycopy(k, bh * t * 3, all, bh * 11 * 3 + (at - t) * 3, t * 3);
                }
                float[] seen = kv[0].toFloatArray();
                for (int bh = 0; bh < 4; bh++) {
                    for (int i = 0; i < at * 3; i++) {
                        assertEquals(all[bh * 11 * 3 + i], seen[bh * at * 3 + i], "step " + step);
                    }
                }
            }
            assertEquals(16, cache.capacity(), "4 -> 8 -> 16 positions");
            assertEquals(Shape.of(2, 2, 11, 3), cache.extend(0, Tensor.zeros(2, 2, 0, 3), Tensor.zeros(2, 2, 0, 3))[0].shape());
        }
    }
}
