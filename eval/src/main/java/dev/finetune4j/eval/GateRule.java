package dev.finetune4j.eval;

import java.util.Objects;

/**
 * One rule of the {@link PromotionGate}: a metric, its direction, the largest regression allowed and the
 * smallest gain required, both in the metric's units or, when {@code relative}, as fractions of the
 * baseline value.
 *
 * <pre>{@code
 * GateRule.higherIsBetter("bleu").maxRegression(0.5).minGain(0.0)
 * GateRule.lowerIsBetter("latency_ms").maxRegression(0.10).relative(true)   // at most 10% slower
 * }</pre>
 *
 * @param metric        metric name as it appears in the reports
 * @param higherIsBetter direction of improvement
 * @param maxRegression largest allowed worsening ({@code >= 0}); beyond it the gate answers ROLLBACK
 * @param minGain       smallest required improvement, below it HOLD; NaN (the default) requires none, so any
 *                      change within {@code maxRegression} passes
 * @param relative      tolerances are fractions of {@code |baseline|} instead of absolute
 */
public record GateRule(String metric, boolean higherIsBetter, double maxRegression, double minGain, boolean relative) {
    /** Validates the rule. */
    public GateRule {
        Objects.requireNonNull(metric, "metric");
        if (!(maxRegression >= 0)) {
            throw new IllegalArgumentException("maxRegression of '" + metric + "' must be >= 0, got " + maxRegression);
        }
        if (!Double.isNaN(minGain) && minGain < -maxRegression) {
            throw new IllegalArgumentException("minGain " + minGain + " of '" + metric + "' is below -maxRegression "
                    + (-maxRegression) + "; such a rule could never hold");
        }
    }

    /**
     * A rule for a metric where larger is better (accuracy, BLEU...), no tolerance and no required gain.
     *
     * @param metric the metric's name in the reports
     * @return a rule with tolerance 0 that requires no gain
     */
    public static GateRule higherIsBetter(String metric) {
        return new GateRule(metric, true, 0, Double.NaN, false);
    }

    /**
     * A rule for a metric where smaller is better (perplexity, TER, latency...).
     *
     * @param metric the metric's name in the reports
     * @return a rule with tolerance 0 that requires no gain
     */
    public static GateRule lowerIsBetter(String metric) {
        return new GateRule(metric, false, 0, Double.NaN, false);
    }

    /**
     * This rule with another allowed regression.
     *
     * @param value the largest allowed worsening, {@code >= 0}
     * @return a copy of this rule with that tolerance
     */
    public GateRule maxRegression(double value) {
        return new GateRule(metric, higherIsBetter, value, minGain, relative);
    }

    /**
     * This rule with another required gain.
     *
     * @param value the smallest required improvement, or NaN for none
     * @return a copy of this rule with that required gain
     */
    public GateRule minGain(double value) {
        return new GateRule(metric, higherIsBetter, maxRegression, value, relative);
    }

    /**
     * This rule with relative or absolute tolerances.
     *
     * @param value true for fractions of {@code |baseline|}, false for the metric's own units
     * @return a copy of this rule with that interpretation of the tolerances
     */
    public GateRule relative(boolean value) {
        return new GateRule(metric, higherIsBetter, maxRegression, minGain, value);
    }

    /**
     * The improvement of {@code candidate} over {@code baseline} in this rule's units: positive is better;
     * relative rules divide by {@code |baseline|} (a zero baseline falls back to the absolute difference).
     *
     * @param candidate the candidate's value of the metric
     * @param baseline the baseline's value of the metric
     * @return the signed improvement, negative for a regression
     */
    public double improvement(double candidate, double baseline) {
        double diff = higherIsBetter ? candidate - baseline : baseline - candidate;
        return relative && baseline != 0 ? diff / Math.abs(baseline) : diff;
    }

    /**
     * The verdict of this rule alone; HOLD when the change cannot be measured (a NaN value, or both infinite).
     *
     * @param candidate the candidate's value of the metric
     * @param baseline the baseline's value of the metric
     * @return PROMOTE, HOLD or ROLLBACK for this metric
     */
    public GateVerdict judge(double candidate, double baseline) {
        double gain = improvement(candidate, baseline);
        if (Double.isNaN(gain)) {
            return GateVerdict.HOLD;
        }
        if (gain < -maxRegression) {
            return GateVerdict.ROLLBACK;
        }
        return gain < minGain ? GateVerdict.HOLD : GateVerdict.PROMOTE; // false for a NaN minGain
    }
}
