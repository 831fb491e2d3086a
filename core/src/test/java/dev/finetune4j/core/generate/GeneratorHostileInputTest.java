package dev.finetune4j.core.generate;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.models.ReferenceData;
import dev.finetune4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a broken model, a hostile prompt or an uneven batch makes of generation: refusals by name, never junk. */
class GeneratorHostileInputTest {

    /** A model whose next-token logits are {@code rows[b]} for batch row b, whatever the input. */
    private static LogitsModel fixedLogits(float[]... rows) {
        return new LogitsModel() {
            @Override
            public Tensor forward(ModelInput input) {
                throw new UnsupportedOperationException("generation reads nextTokenLogits only");
            }

            @Override
            public Tensor nextTokenLogits(ModelInput input) {
                int v = rows[0].length;
                float[] all = new float[input.batchSize() * v];
                for (int b = 0; b < input.batchSize(); b++) {
                    System.arraycopy(rows[b], 0, all, b * v, v);
                }
                return Tensor.of(all, input.batchSize(), v);
            }

            @Override
            public ModelSpec spec() {
                return new ModelSpec("fixed", rows[0].length, 4, 1, 1, 1, 4, 16, true);
            }
        };
    }

    @Test
    void aBatchGoesOnAfterItsLongestRowReachesTheLastPosition() throws Exception {
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource("hf-tiny/llama"))) {
            long[] nearlyFull = new long[lm.maxPositionEmbeddings() - 1];
            Arrays.fill(nearlyFull, 7);
            long[] shortPrompt = {8, 3};
            for (boolean useCache : new boolean[]{true, false}) {
                GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(6).useCache(useCache).build();
                // the long row ends after one token, at max_position_embeddings; the short one takes five more steps
                long[][] batched = Generator.generate(lm, new long[][]{nearlyFull, shortPrompt}, cfg);
                assertEquals(lm.maxPositionEmbeddings(), batched[0].length, "cache " + useCache);
                assertEquals(shortPrompt.length + 6, batched[1].length, "cache " + useCache);
                assertArrayEquals(Generator.generate(lm, nearlyFull, cfg), batched[0], "cache " + useCache);
                assertArrayEquals(Generator.generate(lm, shortPrompt, cfg), batched[1], "cache " + useCache);
            }
        }
    }

    @Test
    void nanLogitsAreRefusedInsteadOfBecomingTokenZero() {
        float[] nan = {Float.NaN, Float.NaN, Float.NaN};
        float[] fine = {0f, 1f, 2f};
        for (GenerationConfig cfg : List.of(
                GenerationConfig.greedy(3),                                                     // argmax on the device
                GenerationConfig.builder().maxNewTokens(3).repetitionPenalty(1.5f).build(),     // on the host
                GenerationConfig.builder().maxNewTokens(3).temperature(0.8f).topP(0.9f).build())) {
            var e = assertThrows(IllegalStateException.class,
                    () -> Generator.generate(fixedLogits(fine, nan), new long[][]{{1}, {2, 1}}, cfg), cfg.toString());
            assertTrue(e.getMessage().contains("prompt 1") && e.getMessage().contains("NaN"), e.getMessage());
        }
        // one NaN among finite logits: the device's argmax would skip it, the refusal must not
        float[] oneNaN = {0f, Float.NaN, 2f};
        var e = assertThrows(IllegalStateException.class,
                () -> Generator.generate(fixedLogits(oneNaN), new long[]{1}, GenerationConfig.greedy(2)));
        assertTrue(e.getMessage().contains("prompt 0"), e.getMessage());
    }

    @Test
    void infiniteLogitsAreNotMistakenForNaN() {
        // a row holding +inf and -inf sums to NaN on the device; the host check sees no NaN and greedy picks +inf
        float[] row = {Float.NEGATIVE_INFINITY, 0f, Float.POSITIVE_INFINITY, 1f};
        assertArrayEquals(new long[]{1, 2, 2}, Generator.generate(fixedLogits(row), new long[]{1}, GenerationConfig.greedy(2)));
    }

    @Test
    void promptIdsOutsideTheVocabularyAreRefusedByPromptAndIndex() {
        LogitsModel model = fixedLogits(new float[]{0f, 1f, 2f});
        for (long bad : new long[]{-1, 3, Long.MAX_VALUE}) {
            // a repetition penalty indexes the logits by the prompt's ids: it must never see one outside them
            GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(2).repetitionPenalty(1.3f).build();
            var e = assertThrows(IllegalArgumentException.class,
                    () -> Generator.generate(model, new long[][]{{0, 1}, {2, bad}}, cfg));
            assertTrue(e.getMessage().contains("prompt 1 has token id " + bad + " at index 1")
                    && e.getMessage().contains("[0, 3)"), e.getMessage());
        }
    }

    @Test
    void nullStopTokensAreRefusedByName() {
        var withNull = new HashSet<Long>(Arrays.asList(2L, null));
        for (var stops : Arrays.asList(null, withNull)) {
            var e = assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().stopTokens(stops).build());
            assertTrue(e.getMessage().contains("stopTokens"), e.getMessage());
        }
    }
}
