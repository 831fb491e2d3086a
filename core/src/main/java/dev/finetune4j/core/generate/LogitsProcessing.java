package dev.finetune4j.core.generate;

import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The token-choice steps of generation on one row of logits (mutated in place; the greedy choice also on a batch's
 * logits where they lie), shared by {@link Generator} and
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
     * OpenAI's {@code logit_bias}: each bias is added to its token's logit.
     *
     * @param logits one row of logits (V), changed in place
     * @param bias   token id to the value added to its logit (empty: off)
     * @throws IllegalArgumentException when a biased id is outside the row's vocabulary
     */
    public static void logitBias(float[] logits, Map<Long, Float> bias) {
        for (Map.Entry<Long, Float> e : bias.entrySet()) {
            long id = e.getKey();
            if (id >= logits.length) {
                throw new IllegalArgumentException("logitBias names token " + id + ", outside the model's vocabulary [0, "
                        + logits.length + "): bias ids of the model's own tokenizer");
            }
            logits[(int) id] += e.getValue();
        }
    }

    /**
     * The next token from one row of logits as {@code cfg} says, for a generation without a constraint on its output
     * (see the overload with a {@link OutputConstraint.State}).
     *
     * @param logits       the last position's logits (V), changed in place by the bias and the penalties
     * @param seq          the tokens so far: the prompt, then the generated ones
     * @param promptLength how many of {@code seq} are the prompt
     * @param length       how many of {@code seq} there are
     * @param cfg          the bias, penalties, temperature, top-k and top-p
     * @param random       the request's sampling stream
     * @return the chosen token id
     * @throws IllegalArgumentException when a biased id is outside the row's vocabulary
     */
    public static int choose(float[] logits, long[] seq, int promptLength, int length, GenerationConfig cfg,
                             SplittableRandom random) {
        return choose(logits, seq, promptLength, length, cfg, random, null);
    }

    /**
     * The next token from one row of logits as {@code cfg} says: the logit bias (first, as vLLM applies it), the
     * repetition penalty over the whole sequence, the presence and frequency penalties over the generated tokens, the
     * constraint's mask (a masked token stays out whatever the others added), then the greedy choice or a sample,
     * which the constraint then takes. Every decoding loop chooses through here, so that they all pick the same token
     * from the same logits.
     *
     * @param logits       the last position's logits (V), changed in place by the bias, the penalties and the mask
     * @param seq          the tokens so far: the prompt, then the generated ones
     * @param promptLength how many of {@code seq} are the prompt
     * @param length       how many of {@code seq} there are
     * @param cfg          the bias, penalties, temperature, top-k and top-p
     * @param random       the request's sampling stream
     * @param constraint   this generation's state under {@link GenerationConfig#constraint()}, or null for none
     * @return the chosen token id
     * @throws IllegalArgumentException when a biased id is outside the row's vocabulary
     */
    public static int choose(float[] logits, long[] seq, int promptLength, int length, GenerationConfig cfg,
                             SplittableRandom random, OutputConstraint.State constraint) {
        logitBias(logits, cfg.logitBias());
        repetitionPenalty(logits, seq, length, cfg.repetitionPenalty());
        occurrencePenalties(logits, seq, promptLength, length, cfg.presencePenalty(), cfg.frequencyPenalty());
        if (constraint != null) {
            constraint.maskLogits(logits);
        }
        int token = cfg.temperature() == 0 ? argmax(logits) : sample(logits, cfg, random);
        if (constraint != null) {
            constraint.accept(token);
        }
        return token;
    }

    /**
     * OpenAI's presence and frequency penalties, counted over the generated tokens as OpenAI and vLLM count them:
     * {@code logit -= presence * (count > 0) + frequency * count} for each token generated {@code count} times.
     *
     * @param logits    one row of logits (V), changed in place
     * @param seq       the tokens so far
     * @param from      where the generated tokens start in {@code seq}
     * @param to        where they end
     * @param presence  the presence penalty (0: off)
     * @param frequency the frequency penalty (0: off)
     */
    public static void occurrencePenalties(float[] logits, long[] seq, int from, int to, float presence, float frequency) {
        if ((presence == 0 && frequency == 0) || to <= from) {
            return;
        }
        long[] generated = Arrays.copyOfRange(seq, from, to);
        Arrays.sort(generated); // each token's occurrences in one run: no vocabulary-sized count array per token
        for (int i = 0; i < generated.length; ) {
            int run = i;
            while (run < generated.length && generated[run] == generated[i]) {
                run++;
            }
            int id = (int) generated[i];
            logits[id] -= presence + frequency * (run - i);
            i = run;
        }
    }

    /**
     * Each row's greedy choice, made on the logits' device: two numbers per row come back (the argmax and the row's
     * sum) instead of the vocabulary's logits. The device's argmax skips NaN (an all-NaN row gives 0), so a broken
     * model would yield token 0 forever; the sum is NaN when one of the row's logits is, and then this returns null:
     * the caller reads the logits and refuses the rows that hold NaN ({@link #hasNaN}).
     *
     * @param logits the last position's logits, (rows, V), on any device
     * @return each row's argmax, or null when some row holds NaN
     */
    public static long[] argmaxOnDevice(Tensor logits) {
        Tensor sums = Reductions.sum(logits, 1, false);
        long[] argmax = Reductions.argmax(logits).toLongArray();
        return hasNaN(sums.toFloatArray()) ? null : argmax;
    }

    /**
     * Whether a row of logits holds NaN: the model's weights or activations are no longer finite (a diverged
     * fine-tune, an overflow in reduced precision), and no token can be chosen from it.
     *
     * @param logits one row of logits (V)
     * @return true when one of them is NaN
     */
    public static boolean hasNaN(float[] logits) {
        for (float v : logits) {
            if (Float.isNaN(v)) {
                return true;
            }
        }
        return false;
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
     * Samples after temperature, top-k and top-p filtering; one draw from {@code random}. Top-k keeps the k most
     * probable tokens and those tied with the k-th; top-p (below 1 only, as Hugging Face applies it) the smallest prefix of them, most probable
     * first, whose probability reaches p of what top-k kept. The draw walks the kept tokens from the most probable;
     * when nothing was cut it walks the whole vocabulary in id order, which draws from the same distribution without
     * sorting it.
     *
     * @param logits one row of logits (V)
     * @param cfg    temperature (&gt; 0), top-k and top-p
     * @param random the request's sampling stream
     * @return the sampled token id
     * @throws IllegalArgumentException when the logits hold NaN or are all -inf
     */
    public static int sample(float[] logits, GenerationConfig cfg, SplittableRandom random) {
        double[] p = probabilities(logits, cfg.temperature());
        int v = p.length;
        int keep = cfg.topK() > 0 ? Math.min(cfg.topK(), v) : v;
        // the most probable first, sorted only as far as the cut reaches (sorting the whole vocabulary took 40 ms a
        // row at 151,936 words)
        ProbabilityOrder order = keep < v || cfg.topP() < 1 ? new ProbabilityOrder(p) : null;
        while (keep < v && p[order.id(keep)] == p[order.id(keep - 1)]) {
            keep++; // tokens tied with the k-th stay, as Hugging Face's TopKLogitsWarper removes only lower scores
        }
        if (cfg.topP() < 1) {
            // NOTE: top-p measures p against the mass top-k kept, as Hugging Face's TopPLogitsWarper takes the softmax
            // of the logits its TopKLogitsWarper left (the rest -inf)
            double reach = cfg.topP() * (keep < v ? mass(p, order, keep) : 1);
            double cumulative = 0;
            for (int r = 0; r < keep; r++) {
                cumulative += p[order.id(r)];
                if (cumulative >= reach) {
                    keep = r + 1; // the smallest prefix reaching top_p (always at least one token)
                    break;
                }
            }
        }
        if (keep == v) {
            return draw(p, random);
        }
        double u = random.nextDouble() * mass(p, order, keep);
        for (int r = 0; r < keep; r++) {
            u -= p[order.id(r)];
            if (u <= 0) {
                return order.id(r);
            }
        }
        return order.id(keep - 1);
    }

    /** The probability of the {@code keep} most probable ids. */
    private static double mass(double[] p, ProbabilityOrder order, int keep) {
        double total = 0;
        for (int r = 0; r < keep; r++) {
            total += p[order.id(r)];
        }
        return total;
    }

    /**
     * softmax(logits / temperature), in double. The largest logit is subtracted before dividing, so that a tiny
     * temperature (1e-40 is a positive float) gives the greedy choice's distribution instead of inf - inf; logits
     * that a tiny repetition penalty made +inf share the whole probability.
     */
    private static double[] probabilities(float[] logits, float temperature) {
        double[] p = new double[logits.length];
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = max == Float.POSITIVE_INFINITY ? (logits[i] == max ? 1 : 0) : Math.exp((logits[i] - max) / temperature);
            sum += p[i];
        }
        if (!(sum > 0)) { // a NaN logit, or every logit -inf (-inf - -inf is NaN)
            throw new IllegalArgumentException("no token can be sampled: the logits hold NaN or are all -inf; check the "
                    + "model's weights and any processor that masks tokens");
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** One draw from the whole distribution p, walking the ids in order. */
    private static int draw(double[] p, SplittableRandom random) {
        double total = 0;
        for (double x : p) {
            total += x;
        }
        double u = random.nextDouble() * total;
        int last = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                u -= p[i];
                last = i;
                if (u <= 0) {
                    return i;
                }
            }
        }
        return last; // rounding left a remainder: the last token that could be drawn
    }
}
