package dev.finetune4j.eval;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Watches a stream of online measurements with a {@link PromotionGate}'s rules (see
 * {@link PromotionGate#monitor}). Each metric keeps a rolling window; its mean is compared with the baseline
 * by the metric's rule. Once a rollback is signalled it stays signalled.
 *
 * <pre>{@code
 * OnlineMonitor m = gate.monitor(baseline.metrics(), 200, 50);
 * MonitorSignal s = m.observe("accuracy", wasCorrect ? 1 : 0);
 * if (s.rollback()) { router.sendAllTrafficTo(baseline); }
 * }</pre>
 *
 * <p>Thread-safe: {@link #observe} may be called from several request threads.
 */
public final class OnlineMonitor {
    private final Map<String, GateRule> rules = new HashMap<>();
    private final Map<String, Double> baseline;
    private final int window;
    private final int minSamples;
    private final Map<String, RollingMean> means = new HashMap<>();
    private MonitorSignal rollback;

    OnlineMonitor(PromotionGate gate, Map<String, Double> baseline, int window, int minSamples) {
        if (window < 1 || minSamples < 1 || minSamples > window) {
            throw new IllegalArgumentException("need 1 <= minSamples <= window, got minSamples=" + minSamples + " window=" + window);
        }
        for (GateRule r : gate.rules()) {
            if (!baseline.containsKey(r.metric())) {
                throw new IllegalArgumentException("baseline has no value for '" + r.metric() + "'; it has " + baseline.keySet());
            }
            rules.put(r.metric(), r);
        }
        this.baseline = Map.copyOf(baseline);
        this.window = window;
        this.minSamples = minSamples;
    }

    /**
     * Records one measurement and returns the current signal for its metric (metrics without a rule are
     * ignored and answer OK).
     *
     * @param metric the metric's name, as in the gate's rules
     * @param value the measurement, a finite number
     * @return the signal; its {@code rollback} is true once a metric's rolling mean regressed beyond its
     *         tolerance, and stays true from then on
     */
    public synchronized MonitorSignal observe(String metric, double value) {
        Objects.requireNonNull(metric, "metric");
        if (!Double.isFinite(value)) {
            // NOTE: one NaN in the running sum would stay there after leaving the window and blind the monitor
            throw new IllegalArgumentException(metric + ": measurement " + value + " is not a finite number;"
                    + " report a failed measurement elsewhere, not as a value");
        }
        GateRule rule = rules.get(metric);
        if (rule == null) {
            return rollback != null ? rollback : MonitorSignal.ok(metric, "no rule for " + metric);
        }
        RollingMean q = means.computeIfAbsent(metric, k -> new RollingMean(window));
        q.add(value);
        if (rollback != null) {
            return rollback;
        }
        if (q.size() < minSamples) {
            return MonitorSignal.ok(metric, metric + ": " + q.size() + " of " + minSamples + " samples before judging");
        }
        double mean = q.mean();
        GateDecision.RuleOutcome o = PromotionGate.judge(rule, mean, baseline.get(metric));
        if (o.verdict() == GateVerdict.ROLLBACK) {
            rollback = new MonitorSignal(true, metric, mean, "rolling mean of " + q.size() + " measurements: " + o.reason());
            return rollback;
        }
        return new MonitorSignal(false, metric, mean, "rolling mean of " + q.size() + " measurements: " + o.reason());
    }

    /**
     * The rollback signal if one was raised, else null.
     *
     * @return the signal that raised the rollback, or null
     */
    public synchronized MonitorSignal rollbackSignal() {
        return rollback;
    }
}
