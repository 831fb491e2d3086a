package dev.finetune4j.eval;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.CausalLM;
import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link Perplexity} of our own models, which it scores through their log-probabilities instead of their logits. */
class ModelPerplexityTest {

    /**
     * Our models score on their device ({@code tokenLogProbs}, one float per position back), several windows per
     * forward pass: documents of 1 to 40 tokens in overlapping sliding windows give, whatever the batch size, the
     * negative log-likelihoods of the (T, V) logits read back and log-softmaxed in double precision one window at a
     * time.
     */
    @Test
    void ourModelsScoreOnTheirDeviceInBatchesAsTheirLogitsDo() throws Exception {
        List<long[]> docs = new ArrayList<>();
        for (int length : new int[]{40, 7, 23, 1, 16, 33, 2}) {
            long[] doc = new long[length];
            Arrays.setAll(doc, i -> (i * 37L + length * 11L) % 256);
            docs.add(doc);
        }
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
            PerplexityResult fromLogits = Perplexity.builder().maxLength(16).stride(5).build().compute(logitsOnly, docs);
            assertEquals(115, fromLogits.tokens()); // every token but each document's first
            for (int batchTokens : new int[]{1, 40, 4096}) {
                PerplexityResult onDevice = Perplexity.builder().maxLength(16).stride(5).batchTokens(batchTokens).build()
                        .compute(lm, docs);
                for (int d = 0; d < docs.size(); d++) {
                    PerplexityResult.DocumentNll want = fromLogits.documents().get(d);
                    PerplexityResult.DocumentNll got = onDevice.documents().get(d);
                    assertEquals(want.tokens(), got.tokens(), "document " + d);
                    assertEquals(want.nll(), got.nll(), 1e-6 * Math.max(1, want.nll()), "document " + d + ", "
                            + batchTokens + " tokens per pass");
                }
                assertEquals(fromLogits.perplexity(), onDevice.perplexity(), 1e-6 * fromLogits.perplexity());
            }
        }
    }
}
