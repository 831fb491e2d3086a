package dev.finetune4j.peft.serve;

/**
 * A latency distribution over a recent window of observations, in milliseconds (all 0 when {@code count} is 0).
 *
 * @param count      observations in the window
 * @param meanMillis their mean
 * @param p50Millis  median
 * @param p90Millis  90th percentile
 * @param p99Millis  99th percentile
 */
public record LatencySummary(long count, double meanMillis, double p50Millis, double p90Millis, double p99Millis) {

    /** A summary of no observations. */
    public static final LatencySummary EMPTY = new LatencySummary(0, 0, 0, 0, 0);
}
