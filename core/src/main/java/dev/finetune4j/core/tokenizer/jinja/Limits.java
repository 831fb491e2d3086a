package dev.finetune4j.core.tokenizer.jinja;

/**
 * Bounds on one render of an untrusted template, so that a hostile one fails with a {@link TemplateException}
 * instead of hanging or exhausting memory.
 *
 * @param maxSteps statements, expressions and loop iterations evaluated in one render, plus one per 64 characters
 *                 (or items) of each string or list an expression yields, so that time and memory are bounded too
 * @param maxChars the longest string (the output included) or list a render may build
 * @param maxDepth nesting of expressions and statements when parsing, and of macro calls when rendering
 */
public record Limits(long maxSteps, int maxChars, int maxDepth) {
    /** Far above what chat templates need (tens of steps per message, outputs of a few megabytes); a render that reaches them stops within seconds. */
    public static final Limits DEFAULT = new Limits(5_000_000L, 64 << 20, 200);

    /** Checks that each bound is positive. */
    public Limits {
        if (maxSteps <= 0 || maxChars <= 0 || maxDepth <= 0) {
            throw new IllegalArgumentException("limits must be positive, got maxSteps=" + maxSteps + ", maxChars="
                    + maxChars + ", maxDepth=" + maxDepth);
        }
    }
}
