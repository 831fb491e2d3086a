package dev.finetune4j.peft.train;

import java.nio.file.Path;

/**
 * What every trainer does: train an adapter from its current weights, or continue a run from a checkpoint.
 * The objective ({@link SftTrainer}: causal-LM cross-entropy; {@link DpoTrainer}, {@link ReferenceFreeTrainer} and
 * {@link KtoTrainer}: preference losses; {@link GrpoTrainer}: rewards of sampled completions;
 * {@link ClassificationTrainer} and {@link RewardTrainer}: a classifier's losses) is what differs.
 *
 * <p>Not thread-safe: one trainer trains one model on one thread. Interrupting that thread stops the run after the
 * step it is in ({@link StopReason#INTERRUPTED}), with a checkpoint of that step when checkpoints are on.
 */
public abstract sealed class Trainer
        permits SftTrainer, DpoTrainer, ReferenceFreeTrainer, KtoTrainer, GrpoTrainer, ClassificationTrainer, RewardTrainer {
    private final TrainingLoop loop;

    Trainer(TrainingLoop loop) {
        this.loop = loop;
    }

    /**
     * Trains from the adapter's current weights. With checkpoints on, {@code outputDir} must hold none of an earlier
     * run (they would mix with this run's); continue such a run with {@link #resume}.
     *
     * @return the losses, evaluations, checkpoints and why training stopped
     */
    public TrainResult train() {
        return loop.run(null);
    }

    /**
     * Continues from a checkpoint folder written by an earlier run with the same settings and data: adapter
     * weights, optimizer moments and the data position are restored, and the run ends exactly as an
     * uninterrupted one would (bit for bit).
     *
     * @param checkpointDir a checkpoint folder, e.g. {@code Checkpoints.latest(outputDir).get()}
     * @return the result of the whole run, including the steps before the checkpoint
     */
    public TrainResult resume(Path checkpointDir) {
        return loop.run(checkpointDir);
    }
}
