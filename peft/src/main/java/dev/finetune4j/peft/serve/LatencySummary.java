package dev.finetune4j.peft.serve;

/**
 * A latency distribution over a recent window of observations, in milliseconds (all 0 when {@code count} is 0), and
 * the running totals since the engine started (what a Prometheus summary's {@code _count} and {@code _sum} are).
 *
 * @param count       observations in the window
 * @param meanMillis  their mean
 * @param p50Millis   median
 * @param p90Millis   90th percentile
 * @param p99Millis   99th percentile
 * @param totalCount  observations since the engine started
 * @param totalMillis their sum
 */
public record LatencySummary(long count, double meanMillis, double p50Millis, double p90Millis, double p99Millis,
                             long totalCount, double totalMillis) {

    /** A summary of no observations. */
    public static final LatencySummary EMPTY = new LatencySummary(0, 0, 0, 0, 0, 0, 0);
}
