package dev.finetune4j.spark;

import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.pipeline.StepReport;

import java.util.Map;

/** Step reports of the steps Spark runs as joins, shaped exactly like the single-machine pipeline's counters. */
final class Reports {
    private Reports() {
    }

    /** A step that kept {@code kept} of {@code in} records unchanged and dropped the rest for {@code reason}. */
    static StepReport dropping(Step step, long in, long kept, String reason) {
        long dropped = in - kept;
        return new StepReport(step.name(), step.params(), in, kept, 0, dropped, 0,
                dropped == 0 ? Map.of() : Map.of(reason, dropped), Map.of(), Map.of());
    }
}
