package dev.finetune4j.peft;

/**
 * A PEFT adapter or configuration that cannot be used: a missing or corrupt adapter file, an unknown
 * {@code peft_type}, target modules that match nothing, tensors whose shapes do not fit the base model.
 * The message says what was expected, what was found, where, and what to do.
 */
public class PeftException extends RuntimeException {
    /**
     * An exception with a message that says what was expected, what was found, where and what to do.
     *
     * @param message the message
     */
    public PeftException(String message) {
        super(message);
    }

    /**
     * An exception with a message and the failure that revealed the problem.
     *
     * @param message the message
     * @param cause the underlying failure, e.g. an I/O error
     */
    public PeftException(String message, Throwable cause) {
        super(message, cause);
    }
}
