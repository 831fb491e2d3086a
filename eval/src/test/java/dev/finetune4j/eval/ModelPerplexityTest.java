package dev.finetune4j.eval;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.CausalLM;
import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link Perplexity} of our own models, which it scores through their log-probabilities instead of their logits. */
class ModelPerplexityTest {

    /**
     * Our models score on their device ({@code tokenLogProbs}, one float per position back): in overlapping sliding
     * windows, the same negative log-likelihood as the (T, V) logits read back and log-softmaxed in double precision.
     */
    @Test
    void ourModelsScoreOnTheirDeviceAsTheirLogitsDo() throws Exception {
        long[] doc = new long[40];
        Arrays.setAll(doc, i -> (i * 37L + 11) % 256);
        try (LanguageModel lm = AutoModel.loadCausalLM(Path.of(getClass().getResource("/hf-tiny/llama").toURI()))) {
            CausalLM logitsOnly = new CausalLM() {
                @Override
                public float[][][] logits(long[][] inputIds, long[][] attentionMask) {
                    return lm.logits(inputIds, attentionMask);
                }

                @Override
                public int vocabSize() {
                    return lm.vocabSize();
                }

                @Override
                public int maxPositionEmbeddings() {
                    return lm.maxPositionEmbeddings();
                }

                @Override
                public void close() {
                }
            };
            Perplexity sliding = Perplexity.builder().maxLength(16).stride(5).build();
            PerplexityResult onDevice = sliding.compute(lm, List.of(doc));
            PerplexityResult fromLogits = sliding.compute(logitsOnly, List.of(doc));
            assertEquals(39, onDevice.tokens());
            assertEquals(fromLogits.tokens(), onDevice.tokens());
            assertEquals(fromLogits.nll(), onDevice.nll(), 1e-6 * fromLogits.nll());
        }
    }
}
