package dev.finetune4j.core.tokenizer.jinja;

/**
 * Jinja's default {@code Undefined}: prints as empty, is falsy and iterates empty, but any other use (an
 * attribute, an item, a call, arithmetic) fails with {@link #message()}, which names what was undefined.
 *
 * @param message e.g. {@code 'dict object' has no attribute 'tool_calls'}
 */
record Undefined(String message) {
    /** The error for using this value; the statement that used it adds its line. */
    TemplateException fail() {
        return new TemplateException(message, 0);
    }
}
