package dev.finetune4j.eval;

/**
 * What {@link OnlineMonitor#observe} answers.
 *
 * @param rollback    true once a metric's rolling mean regressed beyond its rule's tolerance
 * @param metric      the metric judged
 * @param rollingMean its rolling mean (NaN before enough samples)
 * @param reason      a sentence with the numbers
 */
public record MonitorSignal(boolean rollback, String metric, double rollingMean, String reason) {
    static MonitorSignal ok(String metric, String reason) {
        return new MonitorSignal(false, metric, Double.NaN, reason);
    }
}
