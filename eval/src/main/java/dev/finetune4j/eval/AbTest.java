package dev.finetune4j.eval;

import java.util.List;
import java.util.Locale;

/**
 * A/B preference statistics from pairwise judgments (A = candidate, B = baseline): win rates with ties
 * excluded and with ties as half, the Wilson score interval, the exact two-sided sign test, the minimum
 * sample size, and a verdict: a preference above {@code successThreshold} (default 0.70) is a success, above
 * {@code markedThreshold} (default 0.80) a marked improvement, each only when the sign test is significant at
 * {@code alpha} (default 0.05). The preference the verdict reads is the ties-as-half win rate by default
 * (a candidate cannot win by ties), or the ties-excluded one with {@code tiesAsHalf(false)}.
 *
 * <pre>{@code
 * AbTestResult r = AbTest.builder().build().evaluate(judgments);
 * if (r.verdict() == AbVerdict.SUCCESS) { ... }
 * int n = AbTest.minimumSampleSize(0.70, 0.05, 0.80);   // decisive judgments needed to detect 70% preference
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class AbTest {
    private final double alpha;
    private final double successThreshold;
    private final double markedThreshold;
    private final boolean tiesAsHalf;

    private AbTest(Builder b) {
        this.alpha = b.alpha;
        this.successThreshold = b.successThreshold;
        this.markedThreshold = b.markedThreshold;
        this.tiesAsHalf = b.tiesAsHalf;
    }

    /**
     * A builder with alpha 0.05, success above 0.70, marked improvement above 0.80, ties as half.
     *
     * @return a new builder with those defaults
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Evaluates a list of judgments.
     *
     * @param judgments one judgment per prompt saying whether answer A, answer B or neither was preferred
     * @return the counts, win rates, Wilson interval, sign-test p-value and verdict
     */
    public AbTestResult evaluate(List<Preference> judgments) {
        if (judgments == null) {
            throw new IllegalArgumentException("judgments is null");
        }
        for (int i = 0; i < judgments.size(); i++) {
            if (judgments.get(i) == null) {
                throw new IllegalArgumentException("judgment " + i + " is null; record a tie as Preference.TIE");
            }
        }
        long a = judgments.stream().filter(p -> p == Preference.A).count();
        long b = judgments.stream().filter(p -> p == Preference.B).count();
        return evaluate(a, b, judgments.size() - a - b);
    }

    /**
     * Evaluates counts of judgments.
     *
     * @param winsA number of judgments preferring A ({@code >= 0})
     * @param winsB number of judgments preferring B ({@code >= 0})
     * @param ties number of judgments preferring neither ({@code >= 0})
     * @return the win rates, Wilson interval, sign-test p-value and verdict of these counts
     * @throws IllegalArgumentException for a negative count, or counts whose sum is past {@code Long.MAX_VALUE}
     */
    public AbTestResult evaluate(long winsA, long winsB, long ties) {
        if (winsA < 0 || winsB < 0 || ties < 0) {
            throw new IllegalArgumentException("counts must be >= 0, got A=" + winsA + " B=" + winsB + " ties=" + ties);
        }
        if (winsA > Long.MAX_VALUE - winsB || winsA + winsB > Long.MAX_VALUE - ties) {
            throw new IllegalArgumentException("counts A=" + winsA + " B=" + winsB + " ties=" + ties + " add up past "
                    + Long.MAX_VALUE + "; pass the real counts of judgments");
        }
        long decisive = winsA + winsB;
        long total = decisive + ties;
        double winRate = decisive == 0 ? 0.5 : (double) winsA / decisive;
        double tiesHalf = total == 0 ? 0.5 : (winsA + ties / 2.0) / total;
        double[] wilson = Statistics.wilson(winsA, decisive, Statistics.normalQuantile(1 - alpha / 2));
        double p = Statistics.signTestPValue(winsA, decisive);
        double preference = tiesAsHalf ? tiesHalf : winRate;
        boolean significant = p < alpha;
        AbVerdict verdict;
        if (!significant) {
            verdict = AbVerdict.INCONCLUSIVE;
        } else if (winsB > winsA) {
            verdict = AbVerdict.BASELINE_PREFERRED;
        } else if (preference > markedThreshold) {
            verdict = AbVerdict.MARKED_IMPROVEMENT;
        } else if (preference > successThreshold) {
            verdict = AbVerdict.SUCCESS;
        } else {
            verdict = AbVerdict.BELOW_TARGET;
        }
        String reason = String.format(Locale.ROOT,
                "%s: candidate preferred in %.1f%% (%s; %d A, %d B, %d ties), sign test p=%.4g %s alpha=%.3g",
                verdict, 100 * preference, tiesAsHalf ? "ties as half" : "ties excluded", winsA, winsB, ties, p,
                significant ? "<" : ">=", alpha);
        return new AbTestResult(winsA, winsB, ties, winRate, tiesHalf, wilson[0], wilson[1], p, preference, verdict, reason);
    }

    /**
     * The number of decisive (non-tie) judgments needed to detect a true win rate {@code expectedWinRate}
     * against no preference (0.5) with a two-sided test at {@code alpha} and the given {@code power}, by the
     * normal approximation: {@code n = ((z(1-alpha/2) * 0.5 + z(power) * sqrt(p(1-p))) / (p - 0.5))^2},
     * rounded up. Divide by the expected share of decisive judgments to plan for ties.
     *
     * @param expectedWinRate the true win rate of A to detect, in (0, 1) and not 0.5
     * @param alpha significance level of the two-sided test, in (0, 1), e.g. 0.05
     * @param power probability of detecting the effect when it is real, in (0, 1), e.g. 0.8
     * @return the number of decisive judgments to collect
     */
    public static int minimumSampleSize(double expectedWinRate, double alpha, double power) {
        if (!(expectedWinRate > 0 && expectedWinRate < 1) || expectedWinRate == 0.5) {
            throw new IllegalArgumentException("expectedWinRate must be in (0, 1) and not 0.5, got " + expectedWinRate);
        }
        if (!(alpha > 0 && alpha < 1) || !(power > 0 && power < 1)) {
            throw new IllegalArgumentException("alpha and power must be in (0, 1), got " + alpha + " and " + power);
        }
        double p = expectedWinRate;
        double num = Statistics.normalQuantile(1 - alpha / 2) * 0.5 + Statistics.normalQuantile(power) * Math.sqrt(p * (1 - p));
        return (int) Math.ceil(Math.pow(num / (p - 0.5), 2));
    }

    /** Builder of {@link AbTest}. */
    public static final class Builder {
        private double alpha = 0.05;
        private double successThreshold = 0.70;
        private double markedThreshold = 0.80;
        private boolean tiesAsHalf = true;

        private Builder() {
        }

        /**
         * Significance level of the sign test (default 0.05); the Wilson interval uses confidence 1 - alpha.
         *
         * @param alpha significance level in (0, 1)
         * @return this builder
         */
        public Builder alpha(double alpha) {
            if (!(alpha > 0 && alpha < 1)) {
                throw new IllegalArgumentException("alpha must be in (0, 1), got " + alpha);
            }
            this.alpha = alpha;
            return this;
        }

        /**
         * Preference above which a significant result is a success (default 0.70).
         *
         * @param threshold win rate in (0.5, 1)
         * @return this builder
         */
        public Builder successThreshold(double threshold) {
            this.successThreshold = threshold;
            return this;
        }

        /**
         * Preference above which a significant result is a marked improvement (default 0.80).
         *
         * @param threshold win rate in (0.5, 1), at least the success threshold
         * @return this builder
         */
        public Builder markedThreshold(double threshold) {
            this.markedThreshold = threshold;
            return this;
        }

        /**
         * Whether the verdict reads the ties-as-half win rate (default) or the ties-excluded one.
         *
         * @param tiesAsHalf true to count each tie as half a win for both sides, false to leave ties out
         * @return this builder
         */
        public Builder tiesAsHalf(boolean tiesAsHalf) {
            this.tiesAsHalf = tiesAsHalf;
            return this;
        }

        /**
         * Builds the immutable test.
         *
         * @return the test with this builder's settings
         */
        public AbTest build() {
            if (!(successThreshold >= 0.5 && successThreshold <= markedThreshold && markedThreshold < 1)) {
                throw new IllegalStateException("need 0.5 <= successThreshold <= markedThreshold < 1, got "
                        + successThreshold + " and " + markedThreshold);
            }
            return new AbTest(this);
        }
    }
}
