package dev.finetune4j.samples.cli;

/**
 * The tool's exit codes: scripts tell success, a problem with what they passed, and a failure while running apart.
 */
public final class ExitCodes {
    /** Everything worked. */
    public static final int OK = 0;
    /** The run started but failed (I/O error, training diverged, ...); the message says what happened. */
    public static final int FAILURE = 1;
    /** Bad input: unknown option, invalid config value, missing or malformed file; nothing was run. */
    public static final int BAD_INPUT = 2;

    private ExitCodes() {
    }
}
