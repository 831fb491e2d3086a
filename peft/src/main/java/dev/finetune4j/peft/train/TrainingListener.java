package dev.finetune4j.peft.train;

import java.nio.file.Path;

/**
 * Progress callbacks of a trainer, called on the training thread in this order: {@link #onTrainBegin}, then
 * per step {@link #onStep} (and {@link #onEvaluation}, {@link #onCheckpoint}, {@link #onEpochEnd} when they
 * happen), then {@link #onTrainEnd}. Every method has an empty default; a listener that throws stops training.
 */
public interface TrainingListener {

    /**
     * Training starts (or resumes).
     *
     * @param startStep     steps already done (0, or the step of the checkpoint resumed from)
     * @param totalSteps    steps the run will reach
     * @param stepsPerEpoch optimizer steps in one pass over the training data
     */
    default void onTrainBegin(int startStep, int totalSteps, int stepsPerEpoch) {
    }

    /**
     * An optimizer step finished (or was skipped for a NaN/Inf).
     *
     * @param metrics the step's loss, learning rate, gradient norm, speed and memory
     */
    default void onStep(StepMetrics metrics) {
    }

    /**
     * An evaluation on the validation data finished.
     *
     * @param metrics the validation loss and perplexity
     */
    default void onEvaluation(EvalMetrics metrics) {
    }

    /**
     * A checkpoint was written completely and renamed into place.
     *
     * @param step the optimizer step the checkpoint holds
     * @param dir the checkpoint folder
     */
    default void onCheckpoint(int step, Path dir) {
    }

    /**
     * Pass {@code epoch} (0-based) over the training data ended.
     *
     * @param epoch the finished pass, from 0
     */
    default void onEpochEnd(int epoch) {
    }

    /**
     * Training ended normally.
     *
     * @param result the run's outcome
     */
    default void onTrainEnd(TrainResult result) {
    }
}
