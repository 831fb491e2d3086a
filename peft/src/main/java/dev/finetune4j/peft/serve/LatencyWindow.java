package dev.finetune4j.peft.serve;

import java.util.Arrays;

/**
 * The most recent latency observations (a ring of fixed size), summarized into percentiles on demand, and the count
 * and sum of every observation.
 *
 * <p>Thread safety: not thread-safe; {@link EngineStats} guards it.
 */
final class LatencyWindow {
    private final long[] nanos;
    private int next;
    private int size;
    private long totalCount;
    private long totalNanos;

    LatencyWindow(int capacity) {
        this.nanos = new long[capacity];
    }

    void add(long value) {
        nanos[next] = value;
        next = (next + 1) % nanos.length;
        size = Math.min(size + 1, nanos.length);
        totalCount++;
        totalNanos += value;
    }

    /** Nearest-rank percentiles over the window. */
    LatencySummary summary() {
        if (size == 0) {
            return LatencySummary.EMPTY;
        }
        long[] sorted = Arrays.copyOf(nanos, size);
        Arrays.sort(sorted);
        double mean = Arrays.stream(sorted).average().orElse(0);
        return new LatencySummary(size, mean / 1e6, percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99),
                totalCount, totalNanos / 1e6);
    }

    private static double percentile(long[] sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)] / 1e6;
    }
}
