package dev.finetune4j.data.record;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The shapes of training examples this module understands.
 *
 * <ul>
 *   <li>{@link #TEXT}: {@code {"text": ...}}</li>
 *   <li>{@link #ALPACA}: {@code {"instruction": ..., "input": ..., "output": ..., "system": ...}} ({@code input}
 *   and {@code system} optional)</li>
 *   <li>{@link #SHAREGPT}: {@code {"conversations": [{"from": "human"|"gpt"|"system"|"function_call"|"observation",
 *   "value": ...}], "tools": "..."}}: a function_call turn's value is JSON text of a call {@code {"name": ...,
 *   "arguments": {...}}} or of an array of parallel calls, the observations right after it the calls' results; the
 *   optional {@code tools} is an array of functions or JSON text of one, the optional {@code system} the system
 *   prompt when the conversation does not open with its own (LLaMA-Factory's sharegpt format, see
 *   {@link Conversions#convert})</li>
 *   <li>{@link #OPENAI}: {@code {"messages": [{"role": "user"|"assistant"|"system"|"tool", "content": ...}],
 *   "tools": [...]}}: an assistant message may carry {@code tool_calls} ({@code [{"id"?, "type": "function",
 *   "function": {"name": ..., "arguments": "<JSON text>" or {...}}}]}, its content then null, absent or text), a tool
 *   message a {@code tool_call_id}; the optional record-level {@code tools} lists {@code {"type": "function",
 *   "function": {"name": ..., "description"?: ..., "parameters"?: {...}}}} (or the function object alone)</li>
 *   <li>(role names of either table: system or developer, user or human, assistant, gpt, model or chatgpt; see
 *   {@link Conversions#toTurns(Map)})</li>
 *   <li>{@link #PREFERENCE}: {@code {"prompt": ..., "chosen": ..., "rejected": ...}}</li>
 * </ul>
 */
public enum Schema {
    /** Plain text. */
    TEXT,
    /** Instruction, optional input, output and optional system prompt. */
    ALPACA,
    /** ShareGPT conversations of {@code from}/{@code value} turns. */
    SHAREGPT,
    /** OpenAI chat messages of {@code role}/{@code content} turns. */
    OPENAI,
    /** A prompt with a chosen and a rejected answer. */
    PREFERENCE;

    /**
     * The schema whose key fields the record carries, or empty when it carries none of them.
     *
     * @param fields a record's fields
     * @return the detected schema
     */
    public static Optional<Schema> detect(Map<String, Object> fields) {
        if (fields.containsKey("messages")) {
            return Optional.of(OPENAI);
        }
        if (fields.containsKey("conversations")) {
            return Optional.of(SHAREGPT);
        }
        if (fields.containsKey("chosen") || fields.containsKey("rejected")) {
            return Optional.of(PREFERENCE);
        }
        if (fields.containsKey("instruction")) {
            return Optional.of(ALPACA);
        }
        if (fields.containsKey("text")) {
            return Optional.of(TEXT);
        }
        return Optional.empty();
    }

    /**
     * Checks field presence and types.
     *
     * @param fields a record's fields
     * @return empty when valid, otherwise a message naming the field, what was expected and what was found
     */
    public Optional<String> validate(Map<String, Object> fields) {
        return switch (this) {
            case TEXT -> requireString(fields, "text", true);
            case ALPACA -> firstError(requireString(fields, "instruction", true),
                    requireString(fields, "input", false), requireString(fields, "output", true),
                    requireString(fields, "system", false));
            case PREFERENCE -> firstError(requireString(fields, "prompt", true),
                    requireString(fields, "chosen", true), requireString(fields, "rejected", true));
            case SHAREGPT -> firstError(requireTurns(fields, "conversations", "from", "value"),
                    requireString(fields, "system", false), ToolShapes.tools(fields.get("tools")))
                    .or(() -> ShareGptTurns.check((List<?>) fields.get("conversations")));
            case OPENAI -> firstError(requireTurns(fields, "messages", "role", "content"),
                    ToolShapes.tools(fields.get("tools")));
        };
    }

    @SafeVarargs
    private static Optional<String> firstError(Optional<String>... checks) {
        for (Optional<String> c : checks) {
            if (c.isPresent()) {
                return c;
            }
        }
        return Optional.empty();
    }

    private static Optional<String> requireString(Map<String, Object> fields, String name, boolean required) {
        Object v = fields.get(name);
        if (v == null) {
            return required ? Optional.of("missing field '" + name + "'") : Optional.empty();
        }
        return v instanceof String ? Optional.empty()
                : Optional.of("field '" + name + "' must be a string, found " + jsonType(v));
    }

    private static Optional<String> requireTurns(Map<String, Object> fields, String name, String roleKey,
                                                 String textKey) {
        if (!(fields.get(name) instanceof List<?> turns)) {
            return Optional.of("field '" + name + "' must be an array of turns, found " + jsonType(fields.get(name)));
        }
        for (int i = 0; i < turns.size(); i++) {
            if (!(turns.get(i) instanceof Map<?, ?> turn)) {
                return Optional.of(name + "[" + i + "] must be an object, found " + jsonType(turns.get(i)));
            }
            String at = name + "[" + i + "]";
            if (!(turn.get(roleKey) instanceof String)) {
                return Optional.of(at + "." + roleKey + " must be a string, found " + jsonType(turn.get(roleKey)));
            }
            Optional<String> calls = textKey.equals("content") ? ToolShapes.messageParts(turn, at) : Optional.empty();
            if (calls.isPresent()) {
                return calls;
            }
            boolean callsOnly = turn.get("tool_calls") instanceof List<?> list && !list.isEmpty();
            if (!(turn.get(textKey) instanceof String) && !(callsOnly && turn.get(textKey) == null)) {
                return Optional.of(at + "." + textKey + " must be a string" + (callsOnly ? " or null beside tool_calls"
                        : "") + ", found " + jsonType(turn.get(textKey)));
            }
        }
        return Optional.empty();
    }

    /**
     * The JSON type name of a Jackson-parsed value, for error messages.
     *
     * @param v the value
     * @return its type's name, e.g. {@code string}, {@code object}
     */
    static String jsonType(Object v) {
        if (v == null) {
            return "null/absent";
        }
        if (v instanceof String) {
            return "string";
        }
        if (v instanceof Number) {
            return "number";
        }
        if (v instanceof Boolean) {
            return "boolean";
        }
        if (v instanceof List<?>) {
            return "array";
        }
        return v instanceof Map<?, ?> ? "object" : v.getClass().getSimpleName();
    }
}
