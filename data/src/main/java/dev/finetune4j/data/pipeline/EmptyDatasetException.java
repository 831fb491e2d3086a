package dev.finetune4j.data.pipeline;

/**
 * A pipeline run that would write no record at all: every input was empty, quarantined or dropped by a step.
 * Nothing but the quarantine file (when some line was bad) is written. An {@link IllegalArgumentException}
 * because the cause is the input or the steps' settings, not the program.
 */
public final class EmptyDatasetException extends IllegalArgumentException {
    /**
     * An exception with the given message.
     *
     * @param message what was empty and what to check
     */
    public EmptyDatasetException(String message) {
        super(message);
    }
}
