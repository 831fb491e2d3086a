package dev.finetune4j.core.tokenizer.jinja;

/**
 * The template itself refused the input by calling {@code raise_exception(message)}, as chat templates do for
 * conversations they cannot format (e.g. "Conversation roles must alternate user/assistant/user/assistant/...").
 * {@link #getMessage()} is the template's message, unchanged.
 */
public final class TemplateRaisedException extends TemplateException {
    /**
     * The template's own message.
     *
     * @param message the argument of {@code raise_exception}
     * @param line the template line of the call
     */
    public TemplateRaisedException(String message, int line) {
        super(message, line);
    }
}
