package dev.finetune4j.peft.train;

/** Why a training run ended. */
public enum StopReason {
    /** The configured number of optimizer steps was reached. */
    MAX_STEPS,
    /** Every configured epoch was seen. */
    EPOCHS_COMPLETED,
    /** The validation loss did not improve for the configured patience. */
    EARLY_STOPPING
}
