package dev.finetune4j.core.tokenizer;

import java.util.List;
import java.util.Objects;

/**
 * One turn of a conversation: a system prompt, a user's message, an assistant's answer (text, function calls, or
 * both), or a tool's result answering a call.
 *
 * <pre>{@code
 * List<ChatMessage> turns = List.of(
 *     ChatMessage.user("What is the weather in Paris?"),
 *     ChatMessage.assistant(List.of(new ToolCall("call_1", "get_weather", "{\"city\": \"Paris\"}"))),
 *     ChatMessage.tool("call_1", "{\"celsius\": 18}"),
 *     ChatMessage.assistant("It is 18 °C in Paris."));
 * }</pre>
 *
 * @param role       "system", "user", "assistant" or "tool"
 * @param content    the text; empty for an assistant turn that makes tool calls and says nothing (templates read
 *                   an empty string more reliably than none)
 * @param toolCalls  the functions an assistant turn calls, in order; empty for every other turn
 * @param toolCallId for a tool turn, the id of the call it answers (null when the data has none); null otherwise
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls, String toolCallId) {
    private static final List<String> ROLES = List.of("system", "user", "assistant", "tool");

    /** Checks the role and that the calls and the call id fit it; copies the calls. */
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        toolCalls = List.copyOf(Objects.requireNonNull(toolCalls, "toolCalls"));
        if (!ROLES.contains(role)) {
            throw new IllegalArgumentException("unknown chat role '" + role + "'; use system, user, assistant or tool");
        }
        if (!toolCalls.isEmpty() && !role.equals("assistant")) {
            throw new IllegalArgumentException("a " + role + " turn cannot make tool calls; only assistant turns do");
        }
        if (toolCallId != null && !role.equals("tool")) {
            throw new IllegalArgumentException("a " + role + " turn cannot answer tool call '" + toolCallId
                    + "'; only tool turns carry a tool_call_id");
        }
    }

    /**
     * A text turn.
     *
     * @param role    "system", "user", "assistant" or "tool"
     * @param content the text
     */
    public ChatMessage(String role, String content) {
        this(role, content, List.of(), null);
    }

    /**
     * A system turn.
     *
     * @param content the system prompt
     * @return the message
     */
    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    /**
     * A user turn.
     *
     * @param content what the user says
     * @return the message
     */
    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    /**
     * An assistant turn.
     *
     * @param content the assistant's answer
     * @return the message
     */
    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /**
     * An assistant turn that calls functions and says nothing.
     *
     * @param toolCalls the calls, at least one
     * @return the message
     */
    public static ChatMessage assistant(List<ToolCall> toolCalls) {
        if (toolCalls.isEmpty()) {
            throw new IllegalArgumentException("an assistant turn without content needs at least one tool call");
        }
        return new ChatMessage("assistant", "", toolCalls, null);
    }

    /**
     * A tool's result.
     *
     * @param toolCallId the id of the call it answers, or null when calls carry no ids
     * @param content    the result, usually JSON text
     * @return the message
     */
    public static ChatMessage tool(String toolCallId, String content) {
        return new ChatMessage("tool", content, List.of(), toolCallId);
    }

    /**
     * Whether this turn calls functions.
     *
     * @return true for an assistant turn with tool calls
     */
    public boolean hasToolCalls() {
        return !toolCalls.isEmpty();
    }
}
