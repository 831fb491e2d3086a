package dev.finetune4j.eval;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Compares a candidate's metrics with the baseline's by per-metric {@link GateRule}s and answers PROMOTE,
 * HOLD or ROLLBACK with reasons: any rule regressing beyond its tolerance gives ROLLBACK; otherwise a missing
 * metric or a gain below a rule's required gain gives HOLD; otherwise PROMOTE. The same rules watch online
 * measurements through {@link #monitor}.
 *
 * <pre>{@code
 * PromotionGate gate = PromotionGate.of(
 *         GateRule.higherIsBetter("accuracy").maxRegression(0.01).minGain(0.005),
 *         GateRule.lowerIsBetter("perplexity").maxRegression(0.05).relative(true));
 * GateDecision d = gate.evaluate(candidate.metrics(), baseline.metrics());
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class PromotionGate {
    private final List<GateRule> rules;

    private PromotionGate(List<GateRule> rules) {
        if (rules.isEmpty()) {
            throw new IllegalArgumentException("a promotion gate needs at least one rule");
        }
        // NOTE: the online monitor keeps one rolling window per metric, so a second rule would silently replace the
        // first there while evaluate judged both
        Set<String> metrics = new HashSet<>();
        for (GateRule rule : rules) {
            if (!metrics.add(rule.metric())) {
                throw new IllegalArgumentException("the gate has two rules for metric '" + rule.metric() + "'; give "
                        + "each metric one rule (one maxRegression and one minGain)");
            }
        }
        this.rules = List.copyOf(rules);
    }

    /**
     * A gate with these rules.
     *
     * @param rules one rule per metric to check
     * @return a gate that checks every rule
     * @throws IllegalArgumentException for no rule, or two rules for one metric
     */
    public static PromotionGate of(GateRule... rules) {
        return new PromotionGate(List.of(rules));
    }

    /**
     * A gate with these rules.
     *
     * @param rules one rule per metric to check
     * @return a gate that checks every rule
     * @throws IllegalArgumentException for no rule, or two rules for one metric
     */
    public static PromotionGate of(List<GateRule> rules) {
        return new PromotionGate(rules);
    }

    /**
     * The rules, in order.
     *
     * @return an unmodifiable list of the rules
     */
    public List<GateRule> rules() {
        return rules;
    }

    /**
     * Compares two reports.
     *
     * @param candidate the report of the model to promote
     * @param baseline the report of the model in production
     * @return the overall verdict with one line per rule
     */
    public GateDecision evaluate(EvalReport candidate, EvalReport baseline) {
        return evaluate(candidate.metrics(), baseline.metrics());
    }

    /**
     * Compares metric maps (name to value).
     *
     * @param candidate metric values of the model to promote
     * @param baseline metric values of the model in production
     * @return the overall verdict with one line per rule
     */
    public GateDecision evaluate(Map<String, Double> candidate, Map<String, Double> baseline) {
        List<GateDecision.RuleOutcome> outcomes = new ArrayList<>();
        GateVerdict overall = GateVerdict.PROMOTE;
        for (GateRule rule : rules) {
            GateDecision.RuleOutcome o = judge(rule, candidate.get(rule.metric()), baseline.get(rule.metric()));
            outcomes.add(o);
            if (o.verdict().compareTo(overall) > 0) {
                overall = o.verdict();
            }
        }
        List<String> reasons = new ArrayList<>();
        for (GateDecision.RuleOutcome o : outcomes) {
            if (overall == GateVerdict.PROMOTE || o.verdict() != GateVerdict.PROMOTE) {
                reasons.add(o.reason());
            }
        }
        return new GateDecision(overall, reasons, outcomes);
    }

    static GateDecision.RuleOutcome judge(GateRule rule, Double candidate, Double baseline) {
        if (candidate == null || baseline == null || candidate.isNaN() || baseline.isNaN()) {
            String missing = candidate == null || candidate.isNaN() ? "candidate" : "baseline";
            return new GateDecision.RuleOutcome(rule, candidate == null ? Double.NaN : candidate,
                    baseline == null ? Double.NaN : baseline, Double.NaN, GateVerdict.HOLD,
                    rule.metric() + ": missing from the " + missing + " report; evaluate it there or drop the rule");
        }
        double gain = rule.improvement(candidate, baseline);
        if (Double.isNaN(gain)) {
            return new GateDecision.RuleOutcome(rule, candidate, baseline, gain, GateVerdict.HOLD, rule.metric()
                    + ": candidate " + candidate + " and baseline " + baseline + " cannot be compared");
        }
        GateVerdict v = rule.judge(candidate, baseline);
        String unit = rule.relative() ? "%" : "";
        double scale = rule.relative() ? 100 : 1;
        String what = String.format(Locale.ROOT, "%s: candidate %.6g vs baseline %.6g (%s is better), change %+.4g%s",
                rule.metric(), candidate, baseline, rule.higherIsBetter() ? "higher" : "lower", gain * scale, unit);
        String reason = switch (v) {
            case ROLLBACK -> String.format(Locale.ROOT, "%s regresses beyond the allowed %.4g%s", what, rule.maxRegression() * scale, unit);
            case HOLD -> String.format(Locale.ROOT, "%s is below the required gain %.4g%s", what, rule.minGain() * scale, unit);
            case PROMOTE -> what + " passes";
        };
        return new GateDecision.RuleOutcome(rule, candidate, baseline, gain, v, reason);
    }

    /**
     * Online monitoring of a deployed candidate against the baseline's values: each metric's rolling mean
     * over the last {@code window} measurements is judged by its rule once at least {@code minSamples} have
     * arrived; a regression beyond the tolerance signals ROLLBACK.
     *
     * @param baseline the baseline's value of each metric
     * @param window number of recent measurements averaged per metric, at least 1
     * @param minSamples measurements needed before a metric is judged, in [1, window]
     * @return a new monitor
     */
    public OnlineMonitor monitor(Map<String, Double> baseline, int window, int minSamples) {
        return new OnlineMonitor(this, baseline, window, minSamples);
    }
}
