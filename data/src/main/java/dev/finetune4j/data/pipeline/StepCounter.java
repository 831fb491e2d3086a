package dev.finetune4j.data.pipeline;

import java.util.Map;
import java.util.TreeMap;

/** Accumulates the outcomes of one step. Not thread-safe: the pipeline feeds it in input order. */
final class StepCounter {
    private final Step step;
    private long in;
    private long kept;
    private long changed;
    private long dropped;
    private long added;
    private final Map<String, Long> dropReasons = new TreeMap<>();
    private final Map<String, Long> changes = new TreeMap<>();
    private final Map<String, Long> tallies = new TreeMap<>();

    StepCounter(Step step) {
        this.step = step;
    }

    void count(Outcome o) {
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

    StepReport report() {
        return new StepReport(step.name(), step.params(), in, kept, changed, dropped, added, dropReasons, changes,
                tallies);
    }
}
