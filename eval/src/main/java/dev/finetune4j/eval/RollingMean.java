package dev.finetune4j.eval;

import java.util.ArrayDeque;

/**
 * The mean of the last {@code window} values, updated in O(1) per value by a compensated (Neumaier) running sum.
 *
 * <p>NOTE: a plain running sum forgets what a large value absorbed: after 1e17, 0.9, 0.9, 0.9 in a window of
 * three, subtracting the 1e17 leaves 0 instead of 2.7, and a sum that overflowed to infinity never comes back.
 * The compensation term keeps the absorbed low-order parts, and a sum that is no longer finite is recomputed
 * from the values in the window (O(window), only while values near the largest double are in it). Not
 * thread-safe: {@link OnlineMonitor} guards it.
 */
final class RollingMean {
    private final int window;
    private final ArrayDeque<Double> values = new ArrayDeque<>();
    private double sum;
    private double compensation;

    RollingMean(int window) {
        this.window = window;
    }

    /** Adds a finite value, dropping the oldest once more than {@code window} are held. */
    void add(double value) {
        values.addLast(value);
        accumulate(value);
        if (values.size() > window) {
            accumulate(-values.removeFirst());
        }
        if (!Double.isFinite(sum) || !Double.isFinite(compensation)) {
            sum = 0;
            compensation = 0;
            values.forEach(this::accumulate);
        }
    }

    /** The number of values in the window. */
    int size() {
        return values.size();
    }

    /** The mean of the values in the window (NaN when empty). */
    double mean() {
        double total = sum + compensation;
        if (Double.isFinite(total)) {
            return total / values.size();
        }
        double mean = 0; // the sum overflows: each value divided first, so the mean of finite values stays finite
        for (double v : values) {
            mean += v / values.size();
        }
        return mean;
    }

    private void accumulate(double x) {
        double t = sum + x;
        compensation += Math.abs(sum) >= Math.abs(x) ? (sum - t) + x : (x - t) + sum;
        sum = t;
    }
}
