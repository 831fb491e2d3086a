package dev.finetune4j.samples.cli;

/**
 * Something the user passed is wrong (a config value, a path, a file's content). The message says what was
 * expected, what was found and how to fix it; the tool exits with {@link ExitCodes#BAD_INPUT}.
 */
public final class BadInputException extends RuntimeException {
    /**
     * An error with a message that says what was expected, what was found and how to fix it.
     *
     * @param message the message shown to the user
     */
    public BadInputException(String message) {
        super(message);
    }

    /**
     * An error with a message and the failure that revealed it.
     *
     * @param message the message shown to the user
     * @param cause the underlying failure, e.g. a parse error
     */
    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
