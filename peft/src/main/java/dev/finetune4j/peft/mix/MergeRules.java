package dev.finetune4j.peft.mix;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The entry-wise rules that combine same-shape tensors of several adapters (PEFT's {@code merge_utils}): prune each
 * (magnitude or DARE's random drop), then either a weighted sum (task arithmetic) or TIES's sign election followed by
 * the mean of the weighted entries that agree with the elected sign (Yadav et al. 2023, section 3).
 *
 * <p>Tensors are flat, row-major; all of one call have the same length. Thread safety: stateless.
 */
final class MergeRules {
    private MergeRules() {
    }

    /**
     * Combines {@code tensors} by {@code type}'s pruning and summing rules.
     *
     * @param tensors one flat tensor per adapter, equal lengths
     * @param weights one weight per tensor
     * @param density the kept fraction for pruning types (ignored by the others)
     * @param random  the source of DARE's drops: one split per tensor, in order
     */
    static double[] combine(CombinationType type, List<double[]> tensors, double[] weights, double density,
                            MajoritySign sign, SplittableRandom random) {
        List<double[]> kept = new ArrayList<>(tensors.size());
        for (double[] t : tensors) {
            kept.add(switch (type.pruning()) {
                case NONE -> t;
                case MAGNITUDE -> keepLargest(t, density);
                case RANDOM -> dropAtRandom(t, density, random.split());
            });
        }
        return type.electsSign() ? electAndAverage(kept, weights, sign) : weightedSum(kept, weights);
    }

    /** sum_t w_t x_t. */
    static double[] weightedSum(List<double[]> tensors, double[] weights) {
        double[] out = new double[tensors.getFirst().length];
        for (int t = 0; t < tensors.size(); t++) {
            double[] x = tensors.get(t);
            for (int i = 0; i < out.length; i++) {
                out[i] += weights[t] * x[i];
            }
        }
        return out;
    }

    /**
     * Keeps the int(density * n) entries of largest magnitude, zeroes the rest. Among equal magnitudes at the
     * threshold the earlier entries are kept (torch.topk leaves that order unspecified).
     */
    static double[] keepLargest(double[] x, double density) {
        if (density >= 1) {
            return x;
        }
        int k = (int) (density * x.length);
        double[] out = new double[x.length];
        if (k == 0) {
            return out;
        }
        double[] magnitudes = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            magnitudes[i] = Math.abs(x[i]);
        }
        Arrays.sort(magnitudes);
        double threshold = magnitudes[x.length - k];
        int above = 0;
        for (double v : x) {
            if (Math.abs(v) > threshold) {
                above++;
            }
        }
        int atThreshold = k - above; // how many entries equal to the threshold still fit
        for (int i = 0; i < x.length; i++) {
            double m = Math.abs(x[i]);
            if (m > threshold || (m == threshold && atThreshold-- > 0)) {
                out[i] = x[i];
            }
        }
        return out;
    }

    /**
     * DARE (Yu et al. 2023): keeps each entry with probability {@code density} and divides the survivors by it, so
     * that the expected value of every entry is unchanged. PEFT draws with torch.bernoulli; these draws come from
     * {@code random} and cannot equal torch's.
     */
    static double[] dropAtRandom(double[] x, double density, SplittableRandom random) {
        if (density >= 1) {
            return x;
        }
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            if (random.nextDouble() < density) {
                out[i] = x[i] / density;
            }
        }
        return out;
    }

    /**
     * TIES's merge: per entry, the sign of the sum of the (unweighted) values, or of the count of each sign, elects
     * plus or minus (zero elects plus); the weighted values with the elected sign are averaged over their count.
     * Zeros (pruned entries) never agree, so they neither vote in {@link MajoritySign#FREQUENCY} nor count.
     */
    static double[] electAndAverage(List<double[]> tensors, double[] weights, MajoritySign sign) {
        int n = tensors.getFirst().length;
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double votes = 0;
            for (double[] x : tensors) {
                votes += sign == MajoritySign.TOTAL ? x[i] : Math.signum(x[i]);
            }
            double elected = votes >= 0 ? 1 : -1;
            double sum = 0;
            int agreeing = 0;
            for (int t = 0; t < tensors.size(); t++) {
                double v = tensors.get(t)[i];
                if (Math.signum(v) == elected) {
                    sum += weights[t] * v;
                    agreeing++;
                }
            }
            out[i] = sum / Math.max(1, agreeing);
        }
        return out;
    }
}
