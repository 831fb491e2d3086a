package dev.finetune4j.core.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The token-choice steps of generation on one row of logits (mutated in place), shared by {@link Generator} and
 * other decoding loops (a serving engine) so that every loop picks the same token from the same logits.
 *
 * <p>Thread safety: stateless; the random stream passed to {@link #sample} must not be shared between threads.
 */
public final class LogitsProcessing {
    private LogitsProcessing() {
    }

    /**
     * Hugging Face's RepetitionPenaltyLogitsProcessor: each distinct earlier token once.
     *
     * @param logits   one row of logits (V), changed in place
     * @param previous the tokens so far (prompt and generated)
     * @param count    how many of {@code previous} count
     * @param penalty  divides positive and multiplies negative logits of earlier tokens (1: off)
     */
    public static void repetitionPenalty(float[] logits, long[] previous, int count, float penalty) {
        if (penalty == 1f) {
            return;
        }
        boolean[] seen = new boolean[logits.length];
        for (int i = 0; i < count; i++) {
            int id = (int) previous[i];
            if (!seen[id]) {
                seen[id] = true;
                logits[id] = logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty;
            }
        }
    }

    /**
     * The greedy choice.
     *
     * @param logits one row of logits (V)
     * @return the index of the largest logit (the first one on ties)
     */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * Samples after temperature, top-k and top-p filtering; one draw from {@code random}.
     *
     * @param logits one row of logits (V)
     * @param cfg    temperature (&gt; 0), top-k and top-p
     * @param random the request's sampling stream
     * @return the sampled token id
     */
    public static int sample(float[] logits, GenerationConfig cfg, SplittableRandom random) {
        int v = logits.length;
        double[] p = new double[v];
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l / cfg.temperature());
        }
        Integer[] order = new Integer[v];
        double sum = 0;
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp(logits[i] / cfg.temperature() - max);
            sum += p[i];
            order[i] = i;
        }
        for (int i = 0; i < v; i++) {
            p[i] /= sum;
        }
        Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        int keep = cfg.topK() > 0 ? Math.min(cfg.topK(), v) : v;
        double cumulative = 0;
        for (int r = 0; r < keep; r++) {
            cumulative += p[order[r]];
            if (cumulative >= cfg.topP()) {
                keep = r + 1; // the smallest prefix reaching top_p (always at least one token)
                break;
            }
        }
        double total = 0;
        for (int r = 0; r < keep; r++) {
            total += p[order[r]];
        }
        double u = random.nextDouble() * total;
        for (int r = 0; r < keep; r++) {
            u -= p[order[r]];
            if (u <= 0) {
                return order[r];
            }
        }
        return order[keep - 1];
    }
}
