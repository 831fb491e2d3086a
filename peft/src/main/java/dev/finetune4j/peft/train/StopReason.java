package dev.finetune4j.peft.train;

/** Why a training run ended. */
public enum StopReason {
    /** The configured number of optimizer steps was reached. */
    MAX_STEPS,
    /** Every configured epoch was seen. */
    EPOCHS_COMPLETED,
    /** The validation loss did not improve for the configured patience. */
    EARLY_STOPPING,
    /**
     * The training thread was interrupted ({@code Thread.interrupt()}, {@code Future.cancel(true)}): the loop stopped
     * after the step it was in, wrote a checkpoint of that step when checkpoints are on, and left the thread's
     * interrupt status set. {@code resume(result.lastCheckpoint())} continues the run.
     */
    INTERRUPTED
}
