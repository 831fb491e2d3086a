package dev.finetune4j.core.generate;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ReferenceData;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The log-probabilities against {@link ReferenceLogprobs} (a log-softmax by its definition, in double), and the logit
 * bias against the logits themselves.
 */
class TokenLogprobsTest {

    @Test
    void logprobsEqualALogSoftmaxInDoubleAndTheTopAreSorted() {
        SplittableRandom r = new SplittableRandom(3);
        float[] logits = new float[1000];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (r.nextGaussian() * 4);
        }
        double[] expected = ReferenceLogprobs.logSoftmax(logits);
        Integer[] order = ReferenceLogprobs.byDescending(expected);
        for (int chosen : new int[]{0, 17, 999}) {
            TokenLogprobs lp = TokenLogprobs.of(logits, chosen, 20);
            assertEquals(chosen, lp.token());
            assertEquals(expected[chosen], lp.logprob(), 1e-12);
            assertEquals(20, lp.top().size());
            for (int k = 0; k < 20; k++) {
                assertEquals(order[k].longValue(), lp.top().get(k).token(), "rank " + k);
                assertEquals(expected[order[k]], lp.top().get(k).logprob(), 1e-12);
            }
        }
        assertEquals(List.of(), TokenLogprobs.of(logits, 5, 0).top());
    }

    /** Logits of 10^4 overflow a naive exp in float; the stable log-sum-exp keeps them exact. */
    @Test
    void largeLogitsStayFiniteAndTiesListTheLowerIdFirst() {
        float[] logits = {1e4f, 1e4f - 1, 1e4f, -1e4f, 1e4f - 1};
        TokenLogprobs lp = TokenLogprobs.of(logits, 3, 5);
        double lse = 1e4 + Math.log(2 + 2 * Math.exp(-1) + Math.exp(-2e4));
        assertEquals(1e4 - lse, lp.top().get(0).logprob(), 1e-9);
        assertEquals(List.of(0L, 2L, 1L, 4L, 3L), lp.top().stream().map(TokenLogprobs.Candidate::token).toList());
        assertEquals(-1e4 - lse, lp.logprob(), 1e-9);
        double total = lp.top().stream().mapToDouble(c -> Math.exp(c.logprob())).sum();
        assertEquals(1, total, 1e-12, "the whole vocabulary listed sums to probability 1");
    }

    @Test
    void infiniteLogitsShareTheProbabilityAndBadArgumentsAreRefused() {
        float inf = Float.POSITIVE_INFINITY;
        TokenLogprobs lp = TokenLogprobs.of(new float[]{inf, 1f, inf}, 0, 3);
        assertEquals(-Math.log(2), lp.logprob(), 1e-15);
        assertEquals(Double.NEGATIVE_INFINITY, lp.top().get(2).logprob());
        assertThrows(IllegalArgumentException.class, () -> TokenLogprobs.of(new float[3], 3, 1));
        assertThrows(IllegalArgumentException.class, () -> TokenLogprobs.of(new float[3], 0, 21));
        assertEquals(3, TokenLogprobs.of(new float[3], 0, 20).top().size(), "n beyond the vocabulary lists it all");
    }

    @Test
    void aBiasOfMinus100MovesTheGreedyChoiceToTheRunnerUpAndPlus100ForcesAToken() {
        float[] logits = {0.5f, 3f, 2.5f, -1f};
        GenerationConfig ban = GenerationConfig.builder().logitBias(Map.of(1L, -100f)).build();
        GenerationConfig force = GenerationConfig.builder().logitBias(Map.of(3L, 100f)).build();
        long[] seq = {0};
        assertEquals(2, LogitsProcessing.choose(logits.clone(), seq, 1, 1, ban, new SplittableRandom(1)));
        assertEquals(3, LogitsProcessing.choose(logits.clone(), seq, 1, 1, force, new SplittableRandom(1)));
        GenerationConfig sampledForce = GenerationConfig.builder().temperature(1f).logitBias(Map.of(3L, 100f)).build();
        SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < 200; i++) {
            assertEquals(3, LogitsProcessing.choose(logits.clone(), seq, 1, 1, sampledForce, random));
        }
        assertTrue(!ban.choosesArgmax() && !force.choosesArgmax(), "a bias changes the argmax: chosen on the host");
        var outside = assertThrows(IllegalArgumentException.class,
                () -> LogitsProcessing.logitBias(logits.clone(), Map.of(4L, 1f)));
        assertTrue(outside.getMessage().contains("token 4"), outside.getMessage());
    }

    @Test
    void theBiasIsCheckedWhenTheConfigurationIsBuilt() {
        for (Map<Long, Float> bad : List.of(Map.of(-1L, 1f), Map.of(1L, 100.5f), Map.of(1L, Float.NaN),
                Map.of(1L, Float.NEGATIVE_INFINITY))) {
            assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().logitBias(bad).build(), bad.toString());
        }
        assertThrows(IllegalArgumentException.class, () -> GenerationConfig.builder().logitBias(null).build());
        assertEquals(Map.of(2L, -100f), GenerationConfig.builder().logitBias(Map.of(2L, -100f)).build().withSeed(9).logitBias());
    }

    /**
     * The Generator with a bias of -100 on the greedy token of a real model: it takes the runner-up of the logits the
     * model computes for that position (read here through a plain forward pass), then goes on greedily.
     */
    @Test
    void theGeneratorHonoursTheBiasAgainstTheModelsLogits() throws Exception {
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource("hf-tiny/llama"))) {
            long[] prompt = {5, 17, 3, 9};
            float[] last = ReferenceLogprobs.nextLogits(lm, prompt);
            int greedy = LogitsProcessing.argmax(last);
            float[] without = last.clone();
            without[greedy] = Float.NEGATIVE_INFINITY;
            int runnerUp = LogitsProcessing.argmax(without);
            assertNotEquals(greedy, runnerUp);
            GenerationConfig ban = GenerationConfig.builder().maxNewTokens(3).logitBias(Map.of((long) greedy, -100f)).build();
            long[] out = Generator.generate(lm, prompt, ban);
            assertEquals(runnerUp, out[prompt.length]);
            assertEquals(greedy, Generator.generate(lm, prompt, GenerationConfig.greedy(1))[prompt.length]);
            var outside = assertThrows(IllegalArgumentException.class, () -> Generator.generate(lm, prompt,
                    GenerationConfig.builder().logitBias(Map.of((long) last.length, 1f)).build()));
            assertTrue(outside.getMessage().contains("token " + last.length), outside.getMessage());
            long forced = (LogitsProcessing.argmax(last) + 7) % last.length;
            GenerationConfig force = GenerationConfig.builder().maxNewTokens(4).logitBias(Map.of(forced, 100f)).build();
            long[] forcedOut = Generator.generate(lm, prompt, force);
            for (int i = prompt.length; i < forcedOut.length; i++) {
                assertEquals(forced, forcedOut[i], "position " + i + ": +100 forces the token at every step");
            }
        }
    }
}
