package dev.finetune4j.core.generate;

import java.util.List;

/**
 * The log-probability of one chosen token and of the most likely tokens at its position, as OpenAI's {@code logprobs}
 * report them. They are the log-softmax of the logits <em>as the model gives them</em>: before the logit bias, the
 * penalties, the temperature, top-k and top-p. That is vLLM's default ({@code logprobs_mode=raw_logprobs}): the
 * numbers are the model's own confidence, the same for a greedy and a sampled request, whatever processors chose the
 * token (so a token forced by a bias of +100 may carry a very low log-probability). OpenAI's reference does not say
 * whether its own log-probabilities include {@code logit_bias}; vLLM's default leaves it out, and so do these.
 *
 * <p>Computed in double with the largest logit subtracted first (a stable log-sum-exp); a row that holds NaN must be
 * refused before ({@link LogitsProcessing#hasNaN}).
 *
 * @param token   the chosen token's id
 * @param logprob its log-probability, at most 0 ({@link Double#NEGATIVE_INFINITY} for a logit of -inf)
 * @param top     the {@code n} most likely tokens, the highest log-probability first and the lower id first on ties
 *                (the chosen token among them only when it is one of the n)
 */
public record TokenLogprobs(long token, double logprob, List<Candidate> top) {
    /** The most alternatives one position may ask for: OpenAI's {@code top_logprobs} limit (and vLLM's default). */
    public static final int MAX_TOP = 20;

    /**
     * One token's log-probability at a position.
     *
     * @param token   the token's id
     * @param logprob its log-probability
     */
    public record Candidate(long token, double logprob) {
    }

    /** Copies the alternatives, refusing null. */
    public TokenLogprobs {
        top = List.copyOf(top);
    }

    /**
     * The log-probabilities of one position.
     *
     * @param rawLogits the model's logits of the position (V), before any processor; not changed
     * @param chosen    the chosen token's id
     * @param n         how many of the most likely tokens to list, 0 to {@link #MAX_TOP}
     * @return the chosen token's log-probability and the {@code n} most likely tokens'
     * @throws IllegalArgumentException when {@code chosen} is outside the logits or {@code n} outside [0, 20]
     */
    public static TokenLogprobs of(float[] rawLogits, int chosen, int n) {
        if (chosen < 0 || chosen >= rawLogits.length) {
            throw new IllegalArgumentException("chosen token " + chosen + " is outside the logits [0, " + rawLogits.length + ")");
        }
        if (n < 0 || n > MAX_TOP) {
            throw new IllegalArgumentException("n must be in [0, " + MAX_TOP + "], got " + n);
        }
        double logSumExp = logSumExp(rawLogits);
        double infiniteShare = logSumExp == Double.POSITIVE_INFINITY ? -Math.log(count(rawLogits, Float.POSITIVE_INFINITY)) : 0;
        int[] best = mostLikely(rawLogits, Math.min(n, rawLogits.length));
        Candidate[] top = new Candidate[best.length];
        for (int r = 0; r < best.length; r++) {
            top[r] = new Candidate(best[r], logprob(rawLogits[best[r]], logSumExp, infiniteShare));
        }
        return new TokenLogprobs(chosen, logprob(rawLogits[chosen], logSumExp, infiniteShare), List.of(top));
    }

    /**
     * log(sum(exp(logits))) in double: the largest logit is taken out first, so that large logits do not overflow.
     * +inf when a logit is +inf, -inf when all are -inf.
     */
    static double logSumExp(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        if (Float.isInfinite(max)) {
            return max; // all -inf (every token is impossible) or some +inf
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp((double) l - max);
        }
        return max + Math.log(sum);
    }

    /**
     * logit - logSumExp, at most 0 (rounding could leave a sole survivor a hair above). NOTE: inf - inf is NaN: +inf
     * logits share the whole probability equally (as sampling shares it), and a row of -inf gives -inf throughout.
     */
    private static double logprob(float logit, double logSumExp, double infiniteShare) {
        if (logSumExp == Double.POSITIVE_INFINITY) {
            return logit == Float.POSITIVE_INFINITY ? infiniteShare : Double.NEGATIVE_INFINITY;
        }
        if (logSumExp == Double.NEGATIVE_INFINITY) {
            return Double.NEGATIVE_INFINITY;
        }
        return Math.min(0, (double) logit - logSumExp);
    }

    private static int count(float[] logits, float value) {
        int count = 0;
        for (float l : logits) {
            if (l == value) {
                count++;
            }
        }
        return count;
    }

    /**
     * The ids of the {@code n} largest logits, largest first, the lower id first on ties: one pass that keeps a
     * sorted list of at most n (20) ids, where sorting the vocabulary would cost 150,000 log 150,000.
     */
    private static int[] mostLikely(float[] logits, int n) {
        int[] ids = new int[n];
        int size = 0;
        for (int id = 0; id < logits.length && n > 0; id++) {
            float l = logits[id];
            if (size == n && !(l > logits[ids[n - 1]])) {
                continue; // not above the n-th: a tie keeps the lower id, seen first
            }
            int at = size < n ? size++ : n - 1;
            while (at > 0 && l > logits[ids[at - 1]]) { // strictly above: equal ones keep their (lower) ids first
                ids[at] = ids[at - 1];
                at--;
            }
            ids[at] = id;
        }
        return ids;
    }
}
