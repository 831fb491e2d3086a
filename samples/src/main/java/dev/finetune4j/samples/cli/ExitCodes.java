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
    /** {@code gate}: the candidate is not promoted yet (a metric is missing, or a gain is below the one required). */
    public static final int HOLD = 3;
    /** {@code gate}: the candidate regresses beyond what a rule allows; keep the baseline. */
    public static final int ROLLBACK = 4;

    private ExitCodes() {
    }
}
