package dev.finetune4j.core.distributed;

/**
 * A collective operation that cannot complete: a rank failed, left the group or did not join in time, or the ranks
 * passed different sizes. The run cannot go on: every rank's replica may now differ from the others'.
 */
public class CollectiveException extends RuntimeException {

    /**
     * A failure without an underlying exception.
     *
     * @param message what happened, which rank, and what to do
     */
    public CollectiveException(String message) {
        super(message);
    }

    /**
     * A failure caused by another exception.
     *
     * @param message what happened, which rank, and what to do
     * @param cause   the underlying failure
     */
    public CollectiveException(String message, Throwable cause) {
        super(message, cause);
    }
}
