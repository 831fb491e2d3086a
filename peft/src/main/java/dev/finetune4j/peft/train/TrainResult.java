package dev.finetune4j.peft.train;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The outcome of {@code train()}.
 *
 * @param lossHistory     loss of every optimizer step of the whole run (including steps before a resume), in
 *                        order; NaN/Inf where a step was skipped
 * @param gradNormHistory global gradient norm before clipping of every step, in order
 * @param evalHistory     every evaluation, in order
 * @param steps           optimizer steps done
 * @param skippedSteps    steps skipped for a NaN/Inf loss or gradient
 * @param stopReason      why training ended
 * @param bestEvalLoss    validation loss of the best evaluation: the lowest (GRPO: the loss of the evaluation with the
 *                        highest mean reward); NaN without evaluation
 * @param bestCheckpoint  checkpoint of the best evaluation, or the last one without evaluation;
 *                        null when no checkpoint was written
 * @param lastCheckpoint  newest checkpoint, or null when none was written
 */
public record TrainResult(List<Double> lossHistory, List<Double> gradNormHistory, List<EvalMetrics> evalHistory,
                          int steps, int skippedSteps, StopReason stopReason, double bestEvalLoss,
                          Path bestCheckpoint, Path lastCheckpoint) {

    /** Copies the histories. */
    public TrainResult {
        lossHistory = List.copyOf(lossHistory);
        gradNormHistory = List.copyOf(gradNormHistory);
        evalHistory = List.copyOf(evalHistory);
    }

    /**
     * The best checkpoint, when one was written.
     *
     * @return the best checkpoint's folder, or empty
     */
    public Optional<Path> best() {
        return Optional.ofNullable(bestCheckpoint);
    }

    /**
     * Loss of the last step, or NaN when no step ran.
     *
     * @return the last entry of {@code lossHistory}, or NaN
     */
    public double finalLoss() {
        return lossHistory.isEmpty() ? Double.NaN : lossHistory.getLast();
    }

    /**
     * One line for logs: steps, why it stopped, final and best losses, best checkpoint.
     *
     * @return the summary line
     */
    public String summary() {
        return String.format("%d steps (%d skipped), stopped: %s, final loss %.4f%s%s", steps, skippedSteps, stopReason,
                finalLoss(), Double.isNaN(bestEvalLoss) ? "" : String.format(", best eval loss %.4f", bestEvalLoss),
                bestCheckpoint == null ? ", no checkpoint" : ", best checkpoint " + bestCheckpoint);
    }
}
