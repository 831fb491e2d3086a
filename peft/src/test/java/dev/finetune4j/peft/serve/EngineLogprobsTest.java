package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.ReferenceLogprobs;
import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's log-probabilities against references computed here: a plain forward pass of the model over the same
 * tokens (no KV cache, no batch) and a log-softmax in double; and the same request alone against a busy batch.
 */
class EngineLogprobsTest {
    private static final long[] PROMPT = {1, 17, 42, 99, 5};
    /** The engine decodes with its KV cache in float32; the reference recomputes every position in one pass. */
    private static final double TOLERANCE = 1e-4;
    private static LanguageModel base;
    private static InferenceEngine engine;

    @BeforeAll
    static void start() {
        base = ServeFixtures.load("llama");
        engine = InferenceEngine.builder(base).build();
    }

    @AfterAll
    static void stop() {
        engine.close();
        base.close();
    }

    private static CompletionRequest request(long[] prompt, GenerationConfig cfg, int top) {
        return new CompletionRequest(null, prompt, cfg, List.of(), null, top);
    }

    /** The reference log-probabilities after {@code seq}, from a separate copy of the model. */
    private static double[] referenceLogprobs(long[] seq) {
        try (LanguageModel alone = ServeFixtures.load("llama")) {
            return ReferenceLogprobs.next(alone, seq);
        }
    }

    @Test
    void greedyLogprobsEqualALogSoftmaxOfTheModelsOwnLogits() {
        List<TokenLogprobs> streamed = Collections.synchronizedList(new ArrayList<>());
        List<Long> streamedTokens = Collections.synchronizedList(new ArrayList<>());
        Completion c = engine.submit(request(PROMPT, GenerationConfig.greedy(6), 5), new TokenListener() {
            @Override
            public void onToken(long tokenId) {
                throw new AssertionError("the engine calls onToken(id, logprobs)");
            }

            @Override
            public void onToken(long tokenId, TokenLogprobs logprobs) {
                streamedTokens.add(tokenId);
                streamed.add(logprobs);
            }
        }).completion().join();
        long[] tokens = c.tokens();
        assertEquals(6, tokens.length);
        assertEquals(c.logprobs(), streamed, "the listener saw the completion's log-probabilities");
        assertArrayEquals(tokens, streamedTokens.stream().mapToLong(Long::longValue).toArray());
        for (int k = 0; k < tokens.length; k++) {
            double[] expected = referenceLogprobs(ReferenceLogprobs.concat(PROMPT, tokens, k));
            TokenLogprobs lp = c.logprobs().get(k);
            assertEquals(tokens[k], lp.token());
            assertEquals(expected[(int) tokens[k]], lp.logprob(), TOLERANCE, "token " + k);
            double max = Arrays.stream(expected).max().orElseThrow();
            assertEquals(max, lp.logprob(), TOLERANCE, "token " + k + ": the greedy token has the largest log-probability");
            assertEquals(lp.top().get(0).token(), tokens[k]);
            assertEquals(lp.logprob(), lp.top().get(0).logprob(), 0, "the chosen token's value is the top one's");
            Integer[] order = ReferenceLogprobs.byDescending(expected);
            assertEquals(5, lp.top().size());
            for (int r = 0; r < 5; r++) {
                assertEquals(expected[order[r]], lp.top().get(r).logprob(), TOLERANCE, "token " + k + " rank " + r);
                assertEquals(expected[(int) lp.top().get(r).token()], lp.top().get(r).logprob(), TOLERANCE);
                if (r > 0) {
                    assertTrue(lp.top().get(r).logprob() <= lp.top().get(r - 1).logprob());
                }
            }
        }
    }

    /**
     * Sampled requests with log-probabilities in a batch with greedy ones that ask for none (chosen on the device):
     * each equals the same request run alone, tokens exactly and log-probabilities within float tolerance.
     */
    @Test
    void batchingDoesNotChangeARowsLogprobs() throws Exception {
        List<CompletionRequest> requests = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            GenerationConfig.Builder cfg = GenerationConfig.builder().maxNewTokens(5 + i);
            if (i % 2 == 1) {
                cfg.temperature(0.8f).topK(30).seed(40 + i).presencePenalty(0.5f);
            }
            requests.add(request(ServeFixtures.prompt(3 + 2 * i, 256, i), cfg.build(),
                    i % 4 == 0 ? CompletionRequest.NO_LOGPROBS : i % 3));
        }
        List<Completion> alone = new ArrayList<>();
        for (CompletionRequest r : requests) {
            alone.add(engine.submit(r, TokenListener.NONE).completion().join());
        }
        List<CompletionHandle> handles = new ArrayList<>();
        List<Integer> tokenOrder = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < requests.size(); i++) {
            int id = i;
            handles.add(engine.submit(requests.get(i), t -> tokenOrder.add(id)));
        }
        for (int i = 0; i < requests.size(); i++) {
            Completion batched = handles.get(i).completion().join();
            assertArrayEquals(alone.get(i).tokens(), batched.tokens(), "request " + i);
            assertEquals(alone.get(i).logprobs().size(), batched.logprobs().size());
            assertEquals(requests.get(i).topLogprobs() < 0 ? 0 : batched.tokens().length, batched.logprobs().size());
            for (int k = 0; k < batched.logprobs().size(); k++) {
                TokenLogprobs a = alone.get(i).logprobs().get(k);
                TokenLogprobs b = batched.logprobs().get(k);
                assertEquals(a.logprob(), b.logprob(), 1e-5, "request " + i + " token " + k);
                assertEquals(a.top().stream().map(TokenLogprobs.Candidate::token).toList(),
                        b.top().stream().map(TokenLogprobs.Candidate::token).toList());
                assertEquals(requests.get(i).topLogprobs(), b.top().size());
            }
        }
        assertTrue(BatchIndependenceTest.interleaved(tokenOrder), "the requests shared decoding steps: " + tokenOrder);
    }

    /** The bias moves the choice; the log-probabilities stay the model's own (before the bias). */
    @Test
    void aBiasOfMinus100TakesTheRunnerUpAndTheLogprobsStayRaw() {
        double[] first = referenceLogprobs(PROMPT);
        Integer[] order = ReferenceLogprobs.byDescending(first);
        long greedy = order[0];
        long runnerUp = order[1];
        GenerationConfig ban = GenerationConfig.builder().maxNewTokens(1).logitBias(Map.of(greedy, -100f)).build();
        Completion c = engine.submit(request(PROMPT, ban, 2), TokenListener.NONE).completion().join();
        assertEquals(runnerUp, c.tokens()[0]);
        assertEquals(first[(int) runnerUp], c.logprobs().get(0).logprob(), TOLERANCE);
        assertEquals(greedy, c.logprobs().get(0).top().get(0).token(), "the top list is the model's, before the bias");
        long forced = order[order.length - 1];
        GenerationConfig force = GenerationConfig.builder().maxNewTokens(3).logitBias(Map.of(forced, 100f)).build();
        Completion f = engine.submit(request(PROMPT, force, CompletionRequest.NO_LOGPROBS), TokenListener.NONE).completion().join();
        assertArrayEquals(new long[]{forced, forced, forced}, f.tokens());
        assertNotEquals(greedy, forced);
        var outside = assertThrows(IllegalArgumentException.class, () -> engine.submit(request(PROMPT,
                GenerationConfig.builder().logitBias(Map.of(256L, 1f)).build(), 0), TokenListener.NONE));
        assertTrue(outside.getMessage().contains("logit bias"), outside.getMessage());
    }

    @Test
    void aStopSequenceDropsItsTokensLogprobsWithThem() {
        long[] free = engine.submit(request(PROMPT, GenerationConfig.greedy(8), 0), TokenListener.NONE).completion().join().tokens();
        long[] stop = {free[3], free[4]};
        Completion c = engine.submit(new CompletionRequest(null, PROMPT, GenerationConfig.greedy(8), List.of(stop), null, 0),
                TokenListener.NONE).completion().join();
        assertEquals(FinishReason.STOP, c.finishReason());
        assertEquals(c.tokens().length, c.logprobs().size());
        assertTrue(c.logprobs().stream().allMatch(lp -> lp.top().isEmpty()));
        assertThrows(IllegalArgumentException.class, () -> request(PROMPT, GenerationConfig.greedy(1), 21));
        assertThrows(IllegalArgumentException.class, () -> request(PROMPT, GenerationConfig.greedy(1), -2));
        assertThrows(IllegalArgumentException.class, () -> new Completion(new long[2], FinishReason.LENGTH, 1, null,
                Duration.ZERO, c.logprobs()));
    }
}
