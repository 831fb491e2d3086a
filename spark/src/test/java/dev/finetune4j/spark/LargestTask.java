package dev.finetune4j.spark;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

import java.util.HashMap;
import java.util.Map;

/**
 * The most skewed stage of a run: per stage, the most shuffle records one task read against the stage's total; a
 * skewed cluster whose pairs all go to one task shows as a stage where one task read most of the records.
 */
final class LargestTask extends SparkListener {
    /** stage -> {largest task's records, all tasks' records, tasks}. */
    private final Map<Integer, long[]> stages = new HashMap<>();

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
        if (end.taskMetrics() != null) {
            long read = end.taskMetrics().shuffleReadMetrics().recordsRead();
            long[] s = stages.computeIfAbsent(end.stageId(), k -> new long[3]);
            s[0] = Math.max(s[0], read);
            s[1] += read;
            s[2]++;
        }
    }

    /**
     * The largest share of its stage's shuffle records that one task read, over the stages of several tasks that
     * read at least {@code minRecords}.
     *
     * @param minRecords the smallest stage total considered
     * @return the share in [0, 1], or -1 when no stage qualifies
     */
    synchronized double largestShare(long minRecords) {
        Integer stage = mostSkewedStage(minRecords);
        return stage == null ? -1 : share(stages.get(stage));
    }

    /**
     * The stage, among those of several tasks that read at least {@code minRecords}, whose largest task read the
     * largest share of its records.
     *
     * @param minRecords the smallest stage total considered
     * @return e.g. "stage 12: one task of 8 read 100,004 of 110,000 shuffle records (91%)"
     */
    synchronized String mostSkewed(long minRecords) {
        Integer stage = mostSkewedStage(minRecords);
        if (stage == null) {
            return "no stage read " + minRecords + " shuffle records";
        }
        long[] s = stages.get(stage);
        return String.format("stage %d: one task of %d read %,d of %,d shuffle records (%.0f%%)", stage, s[2], s[0],
                s[1], 100 * share(s));
    }

    private Integer mostSkewedStage(long minRecords) {
        Integer worst = null;
        for (Map.Entry<Integer, long[]> e : stages.entrySet()) {
            long[] s = e.getValue();
            if (s[1] >= minRecords && s[2] > 1 && (worst == null || share(s) > share(stages.get(worst)))) {
                worst = e.getKey();
            }
        }
        return worst;
    }

    private static double share(long[] s) {
        return (double) s[0] / s[1];
    }
}
