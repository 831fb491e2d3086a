package dev.finetune4j.core.tokenizer;

import java.util.List;
import java.util.Objects;

/**
 * One turn of a conversation: a system prompt, a user's message, an assistant's answer (text, function calls, or
 * both, and the reasoning that led to it), or a tool's result answering a call.
 *
 * <pre>{@code
 * List<ChatMessage> turns = List.of(
 *     ChatMessage.user("What is the weather in Paris?"),
 *     ChatMessage.assistant(List.of(new ToolCall("call_1", "get_weather", "{\"city\": \"Paris\"}"))),
 *     ChatMessage.tool("call_1", "{\"celsius\": 18}"),
 *     ChatMessage.assistant("It is 18 °C in Paris."));
 * // a reasoning model's answer with its trace (gpt-oss's "thinking", Qwen3's "reasoning_content")
 * ChatMessage answer = ChatMessage.assistant("4").withReasoning("2 + 2 is 4.");
 * }</pre>
 *
 * @param role       "system", "user", "assistant" or "tool"
 * @param content    the text; empty for an assistant turn that makes tool calls and says nothing (templates read
 *                   an empty string more reliably than none)
 * @param toolCalls  the functions an assistant turn calls, in order; empty for every other turn
 * @param toolCallId for a tool turn, the id of the call it answers (null when the data has none); null otherwise
 * @param reasoning  for an assistant turn, the reasoning trace written before the answer or the calls (what chat
 *                   templates read as {@code thinking} or {@code reasoning_content}); null when it has none, and
 *                   null on every other turn. The model's template decides where a trace is rendered (gpt-oss on the
 *                   last turn and on calling turns with no answer after them, Qwen3 on the turns after the last user
 *                   message, DeepSeek-R1's distills on none)
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls, String toolCallId, String reasoning) {
    private static final List<String> ROLES = List.of("system", "user", "assistant", "tool");

    /** Checks the role and that the calls, the call id and the reasoning fit it; copies the calls. */
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
        if (reasoning != null && !role.equals("assistant")) {
            throw new IllegalArgumentException("a " + role + " turn cannot carry a reasoning trace; only assistant turns "
                    + "do (put the text in content, or move the trace to the assistant turn it belongs to)");
        }
    }

    /**
     * A turn without a reasoning trace.
     *
     * @param role       "system", "user", "assistant" or "tool"
     * @param content    the text
     * @param toolCalls  the functions an assistant turn calls; empty for every other turn
     * @param toolCallId for a tool turn, the id of the call it answers, or null
     */
    public ChatMessage(String role, String content, List<ToolCall> toolCalls, String toolCallId) {
        this(role, content, toolCalls, toolCallId, null);
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
     * This assistant turn with a reasoning trace, e.g. {@code ChatMessage.assistant("4").withReasoning("2 + 2 is 4.")}
     * or {@code ChatMessage.assistant(calls).withReasoning("I need the weather first.")}.
     *
     * @param reasoning the trace, without the template's markers ({@code <think>}, harmony's analysis channel)
     * @return a copy carrying {@code reasoning}
     * @throws IllegalArgumentException when this is not an assistant turn
     */
    public ChatMessage withReasoning(String reasoning) {
        return new ChatMessage(role, content, toolCalls, toolCallId, Objects.requireNonNull(reasoning, "reasoning"));
    }

    /**
     * Whether this turn carries a reasoning trace.
     *
     * @return true for an assistant turn with a trace, even an empty one
     */
    public boolean hasReasoning() {
        return reasoning != null;
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
