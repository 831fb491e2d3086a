package dev.finetune4j.core.tokenizer.jinja;

/**
 * A Jinja template that cannot be parsed or rendered: a syntax error, a runtime error the template made (an
 * undefined value used, a type error), or a sandbox limit reached. The message names the line (and column for
 * parse errors) and what was expected.
 */
public class TemplateException extends RuntimeException {
    /** The template line the error is on, 1-based; 0 when not known. */
    private final int line;

    /**
     * An error at {@code line} (1-based; 0 when not known).
     *
     * @param message what was wrong and what to do
     * @param line the template line, or 0
     */
    public TemplateException(String message, int line) {
        super(message);
        this.line = line;
    }

    /**
     * The template line the error is on.
     *
     * @return 1-based line, or 0 when not known
     */
    public int line() {
        return line;
    }
}
