package dev.finetune4j.data.dedup;

/**
 * Chooses LSH bands and rows for a Jaccard threshold. A pair with similarity {@code s} becomes a candidate with
 * probability {@code 1 - (1 - s^r)^b}; the choice minimizes the weighted area of false positives (below the
 * threshold) plus false negatives (above it), as datasketch's {@code _optimal_param} does.
 */
final class LshParams {
    private static final int STEPS = 200;

    private LshParams() {
    }

    /** {@code {bands, rows}} with {@code bands * rows <= numPerm}. */
    static int[] optimal(double threshold, int numPerm, double fpWeight, double fnWeight) {
        double best = Double.MAX_VALUE;
        int[] br = {1, 1};
        for (int b = 1; b <= numPerm; b++) {
            for (int r = 1; r <= numPerm / b; r++) {
                double fp = integrate(0, threshold, b, r, false);
                double fn = integrate(threshold, 1, b, r, true);
                double err = fpWeight * fp + fnWeight * fn;
                if (err < best) {
                    best = err;
                    br = new int[] {b, r};
                }
            }
        }
        return br;
    }

    /** Candidate probability of a pair with Jaccard {@code s}. */
    static double candidateProbability(double s, int b, int r) {
        return 1 - Math.pow(1 - Math.pow(s, r), b);
    }

    /** Simpson's rule over [lo, hi] of P(candidate), or of 1 - P(candidate) when {@code miss}. */
    private static double integrate(double lo, double hi, int b, int r, boolean miss) {
        double h = (hi - lo) / STEPS;
        double sum = 0;
        for (int i = 0; i <= STEPS; i++) {
            double p = candidateProbability(lo + i * h, b, r);
            double f = miss ? 1 - p : p;
            sum += f * (i == 0 || i == STEPS ? 1 : i % 2 == 1 ? 4 : 2);
        }
        return sum * h / 3;
    }
}
