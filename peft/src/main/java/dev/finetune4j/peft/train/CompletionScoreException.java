package dev.finetune4j.peft.train;

/**
 * A reward function's failure on one completion of a batch ({@link RewardFunction#scoreAll}): GRPO's message then
 * names that completion, its prompt's row and its text.
 */
public final class CompletionScoreException extends RuntimeException {
    /** The index of the completion that failed, in the batch given to {@code scoreAll}. */
    private final int completion;

    /**
     * The failure of completion {@code completion} of the batch.
     *
     * @param completion the completion's index in the batch given to {@code scoreAll}
     * @param cause      what went wrong
     */
    public CompletionScoreException(int completion, RuntimeException cause) {
        super("completion " + completion + " of the batch: " + cause, cause);
        this.completion = completion;
    }

    /**
     * The index of the completion that failed.
     *
     * @return its index in the batch given to {@code scoreAll}
     */
    public int completion() {
        return completion;
    }
}
