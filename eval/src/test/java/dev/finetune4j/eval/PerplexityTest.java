package dev.finetune4j.eval;

import dev.finetune4j.core.models.CausalLM;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Perplexity against hand-written causal LMs with known probabilities. */
class PerplexityTest {

    /** A bigram LM: the logits at a position are log P(next | token at that position). */
    private record BigramLM(double[][] p) implements CausalLM {
        @Override
        public float[][][] logits(long[][] ids, long[][] mask) {
            float[][][] out = new float[ids.length][][];
            for (int b = 0; b < ids.length; b++) {
                out[b] = new float[ids[b].length][];
                for (int t = 0; t < ids[b].length; t++) {
                    double[] row = p[(int) ids[b][t]];
                    out[b][t] = new float[row.length];
                    for (int k = 0; k < row.length; k++) {
                        out[b][t][k] = (float) Math.log(row[k]);
                    }
                }
            }
            return out;
        }

        @Override
        public int vocabSize() {
            return p.length;
        }

        @Override
        public int maxPositionEmbeddings() {
            return 64;
        }

        @Override
        public void close() {
        }
    }

    /** Token 0's logit is the position inside the window (its context length), all other logits 0; records windows. */
    private static final class ContextLM implements CausalLM {
        static final int VOCAB = 5;
        final List<Integer> windowLengths = new ArrayList<>();

        @Override
        public float[][][] logits(long[][] ids, long[][] mask) {
            windowLengths.add(ids[0].length);
            float[][] rows = new float[ids[0].length][VOCAB];
            for (int j = 0; j < rows.length; j++) {
                rows[j][0] = j;
            }
            return new float[][][] {rows};
        }

        /** -log P(token 0) at window position j. */
        static double nll(int j) {
            return -(j - Math.log(Math.exp(j) + VOCAB - 1));
        }

        @Override
        public int vocabSize() {
            return VOCAB;
        }

        @Override
        public int maxPositionEmbeddings() {
            return 4;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void bigramPerplexityByHand() {
        // P(0|0)=0.9 P(1|0)=0.1 P(0|1)=0.5 P(1|1)=0.5; document 0 0 1 1 scores 0->0, 0->1, 1->1:
        // NLL = -ln 0.9 - ln 0.1 - ln 0.5 = 3.10109; perplexity = exp(NLL / 3).
        BigramLM lm = new BigramLM(new double[][] {{0.9, 0.1}, {0.5, 0.5}});
        double nll = -Math.log(0.9) - Math.log(0.1) - Math.log(0.5);
        PerplexityResult r = Perplexity.builder().maxLength(8).build().compute(lm, List.of(new long[] {0, 0, 1, 1}));
        assertEquals(3, r.tokens());
        assertEquals(nll, r.nll(), 1e-6);
        assertEquals(Math.exp(nll / 3), r.perplexity(), 1e-6);
        // A bigram model needs one token of context: any stride < maxLength gives the same numbers.
        PerplexityResult slid = Perplexity.builder().maxLength(2).stride(1).build().compute(lm, List.of(new long[] {0, 0, 1, 1}));
        assertEquals(r.perplexity(), slid.perplexity(), 1e-12);
        // Two documents: corpus perplexity pools the NLL, per-document values stay apart.
        PerplexityResult two = Perplexity.builder().maxLength(8).build().compute(lm, List.of(new long[] {0, 0, 1, 1}, new long[] {1, 0}));
        assertEquals(nll - Math.log(0.5), two.nll(), 1e-6);
        assertEquals(4, two.tokens());
        assertEquals(0.5, 1 / two.documents().get(1).perplexity(), 1e-6);
    }

    @Test
    void nothingToScoreOrAWindowPastTheModelIsAnError() {
        BigramLM lm = new BigramLM(new double[][] {{0.9, 0.1}, {0.5, 0.5}});
        Perplexity p = Perplexity.builder().build();
        assertMessage("no documents to score", () -> p.compute(lm, List.of()));
        assertMessage("each of the 2 documents has fewer than 2 tokens",
                () -> p.compute(lm, List.of(new long[] {0}, new long[] {})));
        assertMessage("document 1 is null", () -> p.compute(lm, java.util.Arrays.asList(new long[] {0, 1}, null)));
        assertMessage("maxLength 65 exceeds the model's 64 positions",
                () -> Perplexity.builder().maxLength(65).build().compute(lm, List.of(new long[] {0, 1})));
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void slidingWindowStrideSemantics() {
        long[] doc = new long[10];
        // maxLength 4, stride 2: windows [0,4) [2,6) [4,8) [6,10); the first scores positions 1-3 (context 0, 1, 2),
        // each later one the 2 tokens after the previous end, with 1 and 2 tokens of context inside the window.
        ContextLM lm = new ContextLM();
        PerplexityResult r = Perplexity.builder().maxLength(4).stride(2).build().compute(lm, List.of(doc));
        double want = 0;
        for (int j : new int[] {0, 1, 2, 1, 2, 1, 2, 1, 2}) {
            want += ContextLM.nll(j);
        }
        assertEquals(List.of(4, 4, 4, 4), lm.windowLengths);
        assertEquals(9, r.tokens());
        assertEquals(want, r.nll(), 1e-6);
        // stride == maxLength: windows [0,4) [4,8) [8,10); each window's first token has no predictor inside it.
        ContextLM chunked = new ContextLM();
        PerplexityResult c = Perplexity.builder().maxLength(4).stride(4).build().compute(chunked, List.of(doc));
        double wantChunked = 0;
        for (int j : new int[] {0, 1, 2, 0, 1, 2, 0}) {
            wantChunked += ContextLM.nll(j);
        }
        assertEquals(List.of(4, 4, 2), chunked.windowLengths);
        assertEquals(7, c.tokens());
        assertEquals(wantChunked, c.nll(), 1e-6);
        // The default window is the model's maxPositionEmbeddings (4 here).
        assertEquals(c.nll(), Perplexity.builder().build().compute(new ContextLM(), List.of(doc)).nll(), 1e-12);
        assertThrows(IllegalStateException.class, () -> Perplexity.builder().maxLength(4).stride(5).build());
    }
}
