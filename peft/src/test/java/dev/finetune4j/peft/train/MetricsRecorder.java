package dev.finetune4j.peft.train;

import java.util.ArrayList;
import java.util.List;

/** A listener that keeps every step's and every evaluation's metrics of a run, in order, for a test to read. */
final class MetricsRecorder implements TrainingListener {
    final List<StepMetrics> steps = new ArrayList<>();
    final List<EvalMetrics> evaluations = new ArrayList<>();

    @Override
    public void onStep(StepMetrics m) {
        steps.add(m);
    }

    @Override
    public void onEvaluation(EvalMetrics m) {
        evaluations.add(m);
    }
}
