package dev.finetune4j.data.pipeline;

import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;

/**
 * Accumulates the outcomes of one step. Counters of parts of a corpus (Spark partitions) {@link #merge} into the
 * counts of the whole, whatever the order. Not thread-safe.
 */
public final class StepCounter implements Serializable {
    /** The step whose outcomes are counted. */
    private final Step step;
    /** Records that reached the step. */
    private long in;
    /** Records passed on unchanged. */
    private long kept;
    /** Records passed on changed. */
    private long changed;
    /** Records dropped. */
    private long dropped;
    /** Records the step added (augmentation). */
    private long added;
    /** Dropped records by reason. */
    private final Map<String, Long> dropReasons = new TreeMap<>();
    /** Changed records by kind of change. */
    private final Map<String, Long> changes = new TreeMap<>();
    /** Other counts the step reports, by name. */
    private final Map<String, Long> tallies = new TreeMap<>();

    /**
     * A counter with all counts zero.
     *
     * @param step the step whose outcomes it counts
     */
    public StepCounter(Step step) {
        this.step = step;
    }

    /**
     * Counts one outcome.
     *
     * @param o what the step did with one record
     */
    public void count(Outcome o) {
        in++;
        switch (o.kind()) {
            case KEPT -> kept++;
            case CHANGED -> {
                changed++;
                changes.merge(o.reason(), 1L, Long::sum);
            }
            case DROPPED -> {
                dropped++;
                dropReasons.merge(o.reason(), 1L, Long::sum);
            }
        }
        added += o.added().size();
        o.tallies().forEach((k, v) -> tallies.merge(k, (long) v, Long::sum));
    }

    /**
     * Adds the counts of another counter of the same step.
     *
     * @param other counts of another part of the corpus
     * @return this counter
     */
    public StepCounter merge(StepCounter other) {
        in += other.in;
        kept += other.kept;
        changed += other.changed;
        dropped += other.dropped;
        added += other.added;
        other.dropReasons.forEach((k, v) -> dropReasons.merge(k, v, Long::sum));
        other.changes.forEach((k, v) -> changes.merge(k, v, Long::sum));
        other.tallies.forEach((k, v) -> tallies.merge(k, v, Long::sum));
        return this;
    }

    /**
     * The counts so far as a report.
     *
     * @return the step's report
     */
    public StepReport report() {
        return new StepReport(step.name(), step.params(), in, kept, changed, dropped, added, dropReasons, changes,
                tallies);
    }
}
