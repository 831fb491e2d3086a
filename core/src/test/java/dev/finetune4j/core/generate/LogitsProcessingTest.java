package dev.finetune4j.core.generate;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LogitsProcessingTest {

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOncePerToken() {
        float[] logits = {2f, -1f, 3f, 0.5f};
        // token 0 appears twice but is penalised once, as Hugging Face's processor does (a gather over ids)
        LogitsProcessing.repetitionPenalty(logits, new long[]{0, 1, 0, 9}, 3, 2f);
        assertArrayEquals(new float[]{1f, -2f, 3f, 0.5f}, logits);
    }

    @Test
    void presenceAndFrequencyPenaltiesCountTheGeneratedTokensOnly() {
        float[] logits = {1f, 1f, 1f, 1f};
        // prompt [2, 1], then generated 0, 0, 1: token 0 twice, token 1 once; the prompt's tokens do not count
        LogitsProcessing.occurrencePenalties(logits, new long[]{2, 1, 0, 0, 1}, 2, 5, 0.5f, 0.25f);
        assertArrayEquals(new float[]{1f - 0.5f - 0.5f, 1f - 0.5f - 0.25f, 1f, 1f}, logits);
    }

    /** choose applies the repetition penalty to the whole sequence, then the occurrence penalties, then picks. */
    @Test
    void chooseAppliesThePenaltiesInOrderThenPicks() {
        GenerationConfig cfg = GenerationConfig.builder().repetitionPenalty(2f).frequencyPenalty(1.5f).build();
        // logits 2.2, 3.9, 1.2: the repetition penalty halves token 0's (prompt) to 1.1; token 1, generated once, gets
        // 3.9 / 2 - 1.5 = 0.45; token 2 keeps 1.2 and wins (with either penalty alone, token 1 would)
        long[] seq = {0, 1, 0};
        assertEquals(2, LogitsProcessing.choose(new float[]{2.2f, 3.9f, 1.2f}, seq, 1, 2, cfg, new SplittableRandom(1)));
        GenerationConfig presenceOnly = GenerationConfig.builder().presencePenalty(3.5f).build();
        // token 1, generated, drops to 0.4: token 0 (2.2, prompt only) wins
        assertEquals(0, LogitsProcessing.choose(new float[]{2.2f, 3.9f, 1.2f}, seq, 1, 2, presenceOnly, new SplittableRandom(1)));
        assertTrue(!cfg.choosesArgmax() && !presenceOnly.choosesArgmax() && GenerationConfig.greedy(1).choosesArgmax());
    }

    /** Hugging Face's top-k removes the scores below the k-th: tokens tied with it stay in the draw. */
    @Test
    void topKKeepsTheTokensTiedWithTheKth() {
        float[] logits = {3f, 2f, 2f, 2f, 0f};
        GenerationConfig cfg = GenerationConfig.builder().temperature(1f).topK(2).build();
        SplittableRandom random = new SplittableRandom(11);
        int[] counts = new int[logits.length];
        for (int i = 0; i < 4000; i++) {
            counts[LogitsProcessing.sample(logits.clone(), cfg, random)]++;
        }
        // kept: e^3 : e^2 : e^2 : e^2, so each tied token is drawn with probability e^2 / (e^3 + 3 e^2) = 0.175
        for (int tied = 1; tied <= 3; tied++) {
            assertTrue(Math.abs(counts[tied] / 4000.0 - 0.175) < 0.03, java.util.Arrays.toString(counts));
        }
        assertEquals(0, counts[4]);
    }

    @Test
    void greedyPicksTheFirstMaximum() {
        assertEquals(2, LogitsProcessing.argmax(new float[]{0f, 1f, 5f, 5f}));
    }

    @Test
    void topKSamplesOnlyAmongTheKMostLikely() {
        float[] logits = {5f, 4f, 3f, 2f, 1f, 0f};
        GenerationConfig cfg = GenerationConfig.builder().temperature(1f).topK(2).build();
        Set<Integer> seen = new HashSet<>();
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 2000; i++) {
            seen.add(LogitsProcessing.sample(logits.clone(), cfg, random));
        }
        assertEquals(Set.of(0, 1), seen);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // probabilities 0.5, 0.3, 0.2: top_p 0.75 keeps {0, 1} (0.5 < 0.75 <= 0.8)
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};
        GenerationConfig cfg = GenerationConfig.builder().temperature(1f).topP(0.75f).build();
        int[] counts = new int[3];
        SplittableRandom random = new SplittableRandom(2);
        int n = 20000;
        for (int i = 0; i < n; i++) {
            counts[LogitsProcessing.sample(logits.clone(), cfg, random)]++;
        }
        assertEquals(0, counts[2]);
        // renormalised over the kept set: 0.5 / 0.8 = 0.625
        assertEquals(0.625, counts[0] / (double) n, 0.02);
    }

    @Test
    void topPMeasuresTheMassTopKKept() {
        // probabilities 0.5, 0.3, 0.2; top-k 2 keeps 0.5 and 0.3, which Hugging Face's top-p sees renormalised as
        // 0.625 and 0.375: top_p 0.6 keeps token 0 alone, top_p 0.7 both (0.625 < 0.7)
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};
        SplittableRandom random = new SplittableRandom(5);
        int n = 20000;
        int[] narrow = new int[3];
        int[] wide = new int[3];
        GenerationConfig narrowCfg = GenerationConfig.builder().temperature(1f).topK(2).topP(0.6f).build();
        GenerationConfig wideCfg = GenerationConfig.builder().temperature(1f).topK(2).topP(0.7f).build();
        for (int i = 0; i < n; i++) {
            narrow[LogitsProcessing.sample(logits.clone(), narrowCfg, random)]++;
            wide[LogitsProcessing.sample(logits.clone(), wideCfg, random)]++;
        }
        assertArrayEquals(new int[]{n, 0, 0}, narrow);
        assertEquals(0, wide[2]);
        assertEquals(0.625, wide[0] / (double) n, 0.02);
    }

    @Test
    void logitsWithNothingToSampleAreRefused() {
        GenerationConfig cfg = GenerationConfig.builder().temperature(1f).build();
        for (float[] logits : new float[][]{{0f, Float.NaN, 1f}, {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}}) {
            var e = assertThrows(IllegalArgumentException.class, () -> LogitsProcessing.sample(logits, cfg, new SplittableRandom(0)));
            assertTrue(e.getMessage().contains("NaN or are all -inf"), e.getMessage());
        }
    }

    @Test
    void temperatureSharpensTheDistribution() {
        float[] logits = {1f, 0f};
        SplittableRandom random = new SplittableRandom(3);
        int n = 20000;
        int hot = 0;
        int cold = 0;
        for (int i = 0; i < n; i++) {
            hot += LogitsProcessing.sample(logits.clone(), GenerationConfig.builder().temperature(1f).build(), random) == 0 ? 1 : 0;
            cold += LogitsProcessing.sample(logits.clone(), GenerationConfig.builder().temperature(0.25f).build(), random) == 0 ? 1 : 0;
        }
        double p1 = 1 / (1 + Math.exp(-1));   // softmax(1, 0)[0]
        double p025 = 1 / (1 + Math.exp(-4)); // softmax(4, 0)[0]
        assertEquals(p1, hot / (double) n, 0.02);
        assertEquals(p025, cold / (double) n, 0.01);
        assertTrue(cold > hot);
    }

    @Test
    void aTinyTemperatureSamplesTheGreedyToken() {
        float[] logits = {1f, 3f, 2f, 3f};
        GenerationConfig cfg = GenerationConfig.builder().temperature(1e-40f).build();
        SplittableRandom random = new SplittableRandom(4);
        for (int i = 0; i < 50; i++) {
            // the two largest are tied: one of them, never a token the greedy choice could not make
            int token = LogitsProcessing.sample(logits.clone(), cfg, random);
            assertTrue(token == 1 || token == 3, "token " + token);
        }
    }

    @Test
    void infiniteLogitsShareTheWholeProbability() {
        // a repetition penalty of 1e-40 divides an earlier token's positive logit into +inf
        float[] logits = {2f, -1f, 3f, 0.5f};
        LogitsProcessing.repetitionPenalty(logits, new long[]{0, 3}, 2, 1e-40f);
        GenerationConfig cfg = GenerationConfig.builder().temperature(0.7f).topP(0.9f).build();
        SplittableRandom random = new SplittableRandom(6);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            seen.add(LogitsProcessing.sample(logits.clone(), cfg, random));
        }
        assertEquals(Set.of(0, 3), seen);
    }

    @Test
    void configRejectsImpossibleSettings() {
        assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().topP(0f).build());
        assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().temperature(-1f).build());
        assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().repetitionPenalty(0f).build());
        assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().maxNewTokens(-1).build());
    }
}
