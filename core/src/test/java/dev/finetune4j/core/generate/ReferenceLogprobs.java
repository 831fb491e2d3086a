package dev.finetune4j.core.generate;

import dev.finetune4j.core.models.LanguageModel;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Log-probabilities computed independently of {@link TokenLogprobs}, for the tests of every module that reports
 * them: a plain forward pass of the whole sequence (no KV cache, no batch) and a log-softmax by its definition in
 * double.
 */
public final class ReferenceLogprobs {
    private ReferenceLogprobs() {
    }

    /** log(exp(l_i) / sum_j exp(l_j)) in double, the largest logit taken out first (finite logits only). */
    public static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = (double) logits[i] - max - Math.log(sum);
        }
        return out;
    }

    /** The model's logits for the position after {@code seq}, from one forward pass over it. */
    public static float[] nextLogits(LanguageModel model, long[] seq) {
        return model.logits(new long[][]{seq}, null)[0][seq.length - 1];
    }

    /** {@link #logSoftmax} of {@link #nextLogits}. */
    public static double[] next(LanguageModel model, long[] seq) {
        return logSoftmax(nextLogits(model, seq));
    }

    /** The ids by descending log-probability, the lower id first on ties. */
    public static Integer[] byDescending(double[] logprobs) {
        Integer[] order = IntStream.range(0, logprobs.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -logprobs[i]).thenComparing(i -> i));
        return order;
    }

    /** {@code a} followed by the first {@code bCount} of {@code b}: a prompt and the tokens generated so far. */
    public static long[] concat(long[] a, long[] b, int bCount) {
        long[] out = Arrays.copyOf(a, a.length + bCount);
        System.arraycopy(b, 0, out, a.length, bCount);
        return out;
    }
}
