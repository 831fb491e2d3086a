package dev.finetune4j.core.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/** The token-choice steps of generation on one row of logits (mutated in place). */
final class LogitsProcessing {
    private LogitsProcessing() {
    }

    /** Hugging Face's RepetitionPenaltyLogitsProcessor: each distinct earlier token once. */
    static void repetitionPenalty(float[] logits, long[] previous, int count, float penalty) {
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

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Samples after temperature, top-k and top-p filtering. */
    static int sample(float[] logits, GenerationConfig cfg, SplittableRandom random) {
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
