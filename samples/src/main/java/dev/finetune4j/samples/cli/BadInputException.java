package dev.finetune4j.samples.cli;

/**
 * Something the user passed is wrong (a config value, a path, a file's content). The message says what was
 * expected, what was found and how to fix it; the tool exits with {@link ExitCodes#BAD_INPUT}.
 */
public final class BadInputException extends RuntimeException {
    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
