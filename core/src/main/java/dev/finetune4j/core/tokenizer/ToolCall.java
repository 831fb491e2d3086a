package dev.finetune4j.core.tokenizer;

import java.util.Objects;

/**
 * A function call an assistant turn makes, in OpenAI's shape: {@code {"id": ..., "type": "function",
 * "function": {"name": ..., "arguments": "<JSON text>"}}}.
 *
 * <p>Chat templates see the arguments as a JSON object (what transformers' documentation asks callers to pass),
 * parsed from {@code arguments}; text that is not a JSON object (a model's malformed call) reaches the template
 * as the string itself.
 *
 * @param id        the call's id, which a later tool turn's {@link ChatMessage#toolCallId()} answers; null when the
 *                  data has none
 * @param name      the function's name
 * @param arguments the arguments as JSON text, e.g. {@code {"city": "Paris"}}
 */
public record ToolCall(String id, String name, String arguments) {
    /** Checks that the name is given and the arguments are present. */
    public ToolCall {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(arguments, "arguments");
        if (name.isBlank()) {
            throw new IllegalArgumentException("a tool call needs a function name, got a blank one");
        }
    }

    /**
     * A call without an id.
     *
     * @param name      the function's name
     * @param arguments the arguments as JSON text
     * @return the call
     */
    public static ToolCall of(String name, String arguments) {
        return new ToolCall(null, name, arguments);
    }
}
