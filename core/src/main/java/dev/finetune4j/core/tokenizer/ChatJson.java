package dev.finetune4j.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Conversations and tools in OpenAI's chat JSON, read and written: the one reader for chat requests, training records
 * and preference files.
 *
 * <ul>
 *   <li>a message: {@code {"role": "system"|"developer"|"user"|"assistant"|"tool", "content": ...}}, with content a
 *   string, an array of {@code {"type": "text", "text": ...}} parts (joined), or null or absent on an assistant turn
 *   with {@code tool_calls} (read as empty); a tool turn's {@code tool_call_id}; developer is read as system; an
 *   assistant turn's reasoning trace from {@code thinking} (gpt-oss's datasets and template),
 *   {@code reasoning_content} (DeepSeek's API, Qwen3's template, many SFT sets) or {@code reasoning} (some
 *   OpenAI-compatible servers), written back as {@code reasoning_content};</li>
 *   <li>a tool call: {@code {"id"?, "type": "function", "function": {"name": ..., "arguments": ...}}}, with
 *   arguments as JSON text (OpenAI) or as an object (many Hugging Face datasets);</li>
 *   <li>a tool: {@code {"type": "function", "function": {"name": ..., "description"?: ..., "parameters"?: {...}}}}.</li>
 * </ul>
 *
 * <p>Errors are {@link IllegalArgumentException}s that name the path of what was wrong (e.g.
 * {@code messages[2].tool_calls[0].function.name}), what was found, and what is accepted.
 */
public final class ChatJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The keys a message's reasoning trace is read from; the first is the one {@link #toJson(ChatMessage)} writes. */
    private static final List<String> REASONING_KEYS = List.of("reasoning_content", "thinking", "reasoning");

    private ChatJson() {
    }

    /**
     * A conversation. A tool turn's {@code tool_call_id} must be the id of a call an earlier assistant turn made,
     * when those calls have ids.
     *
     * @param messages a JSON array of messages
     * @param where its path, for messages (e.g. {@code messages})
     * @return the turns in order
     */
    public static List<ChatMessage> messages(JsonNode messages, String where) {
        if (messages == null || !messages.isArray()) {
            throw new IllegalArgumentException(where + " must be an array of {\"role\", \"content\"} objects, got "
                    + describe(messages));
        }
        List<ChatMessage> turns = new ArrayList<>(messages.size());
        Set<String> callIds = new LinkedHashSet<>();
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage turn = message(messages.get(i), where + "[" + i + "]");
            turn.toolCalls().stream().map(ToolCall::id).filter(Objects::nonNull).forEach(callIds::add);
            if (turn.toolCallId() != null && !callIds.isEmpty() && !callIds.contains(turn.toolCallId())) {
                // a result no call asked for: the model would read it as an answer to nothing (OpenAI refuses it too)
                throw new IllegalArgumentException(where + "[" + i + "].tool_call_id '" + turn.toolCallId()
                        + "' answers no call of an earlier assistant turn (their ids: " + String.join(", ", callIds)
                        + "); send the id of the call this result answers");
            }
            turns.add(turn);
        }
        return turns;
    }

    /**
     * One message.
     *
     * @param m a JSON object
     * @param where its path, for messages
     * @return the turn
     */
    public static ChatMessage message(JsonNode m, String where) {
        if (m == null || !m.isObject()) {
            throw new IllegalArgumentException(where + " must be an object with role and content, got " + describe(m));
        }
        String role = role(m.get("role"), where + ".role");
        JsonNode calls = m.get("tool_calls");
        List<ToolCall> toolCalls = new ArrayList<>();
        if (calls != null && !calls.isNull()) {
            if (!role.equals("assistant") || !calls.isArray()) {
                throw new IllegalArgumentException(where + ".tool_calls must be an array on an assistant message, got "
                        + describe(calls) + " on a " + role + " message");
            }
            for (int c = 0; c < calls.size(); c++) {
                toolCalls.add(toolCall(calls.get(c), where + ".tool_calls[" + c + "]"));
            }
        }
        String content = content(m.get("content"), where + ".content", !toolCalls.isEmpty());
        String toolCallId = role.equals("tool") ? optionalText(m.get("tool_call_id"), where + ".tool_call_id") : null;
        return new ChatMessage(role, content, toolCalls, toolCallId, reasoning(m, role, where));
    }

    /** The trace under one of {@link #REASONING_KEYS} (null values are absent ones), or null for none. */
    private static String reasoning(JsonNode m, String role, String where) {
        String trace = null;
        String from = null;
        for (String key : REASONING_KEYS) {
            String text = optionalText(m.get(key), where + "." + key);
            if (text == null) {
                continue;
            }
            if (!role.equals("assistant")) {
                throw new IllegalArgumentException(where + "." + key + " is a reasoning trace on a " + role
                        + " message; only assistant messages carry one (move it there or drop the key)");
            }
            if (trace != null && !trace.equals(text)) {
                throw new IllegalArgumentException(where + " has two different reasoning traces, in " + from + " and "
                        + key + "; keep one of the keys");
            }
            trace = text;
            from = key;
        }
        return trace;
    }

    /**
     * One tool call.
     *
     * @param call a JSON object in OpenAI's shape
     * @param where its path, for messages
     * @return the call
     */
    public static ToolCall toolCall(JsonNode call, String where) {
        JsonNode function = function(call, where);
        String name = requiredText(function.get("name"), where + ".function.name");
        JsonNode arguments = function.get("arguments");
        String argumentsText;
        if (arguments == null || arguments.isNull()) {
            argumentsText = "{}";
        } else if (arguments.isTextual()) {
            argumentsText = arguments.textValue();
        } else if (arguments.isObject()) {
            argumentsText = arguments.toString();
        } else {
            throw new IllegalArgumentException(where + ".function.arguments must be JSON text or an object, got "
                    + describe(arguments));
        }
        return new ToolCall(optionalText(call.get("id"), where + ".id"), name, argumentsText);
    }

    /**
     * The functions a model may call.
     *
     * @param tools a JSON array of tools, or null/JSON null for none
     * @param where its path, for messages (e.g. {@code tools})
     * @return the tools in order; empty for none
     */
    public static List<ToolDefinition> tools(JsonNode tools, String where) {
        if (tools == null || tools.isNull()) {
            return List.of();
        }
        if (!tools.isArray()) {
            throw new IllegalArgumentException(where + " must be an array of {\"type\": \"function\", \"function\": "
                    + "{...}} objects, got " + describe(tools));
        }
        List<ToolDefinition> out = new ArrayList<>(tools.size());
        for (int i = 0; i < tools.size(); i++) {
            out.add(tool(tools.get(i), where + "[" + i + "]"));
        }
        return out;
    }

    /**
     * One tool.
     *
     * @param tool a JSON object in OpenAI's shape
     * @param where its path, for messages
     * @return the tool
     */
    public static ToolDefinition tool(JsonNode tool, String where) {
        JsonNode function = function(tool, where);
        String name = requiredText(function.get("name"), where + ".function.name");
        String description = optionalText(function.get("description"), where + ".function.description");
        JsonNode parameters = function.get("parameters");
        if (parameters != null && !parameters.isNull() && !parameters.isObject()) {
            throw new IllegalArgumentException(where + ".function.parameters must be a JSON Schema object, got "
                    + describe(parameters));
        }
        return new ToolDefinition(name, description,
                parameters == null || parameters.isNull() ? null : parameters.toString());
    }

    /**
     * A message in OpenAI's shape; tool call arguments as JSON text, as OpenAI writes them; a reasoning trace as
     * {@code reasoning_content}, the key DeepSeek's API writes and Qwen3's template reads.
     *
     * @param m the turn
     * @return a new JSON object
     */
    public static ObjectNode toJson(ChatMessage m) {
        ObjectNode out = JSON.createObjectNode();
        out.put("role", m.role());
        out.put("content", m.content());
        if (m.hasToolCalls()) {
            ArrayNode calls = out.putArray("tool_calls");
            for (ToolCall c : m.toolCalls()) {
                ObjectNode call = calls.addObject();
                if (c.id() != null) {
                    call.put("id", c.id());
                }
                call.put("type", "function");
                call.putObject("function").put("name", c.name()).put("arguments", c.arguments());
            }
        }
        if (m.toolCallId() != null) {
            out.put("tool_call_id", m.toolCallId());
        }
        if (m.hasReasoning()) {
            out.put(REASONING_KEYS.getFirst(), m.reasoning());
        }
        return out;
    }

    /**
     * A tool in OpenAI's shape.
     *
     * @param t the tool
     * @return a new JSON object
     */
    public static ObjectNode toJson(ToolDefinition t) {
        ObjectNode out = JSON.createObjectNode();
        out.put("type", "function");
        ObjectNode function = out.putObject("function");
        function.put("name", t.name());
        if (t.description() != null) {
            function.put("description", t.description());
        }
        if (t.parameters() != null) {
            function.set("parameters", t.parametersSchema());
        }
        return out;
    }

    private static JsonNode function(JsonNode node, String where) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(where + " must be an object {\"type\": \"function\", \"function\": {...}}, got "
                    + describe(node));
        }
        JsonNode type = node.get("type");
        if (type != null && !"function".equals(type.asText())) {
            throw new IllegalArgumentException(where + ".type must be \"function\", got " + describe(type)
                    + "; only function tools are supported");
        }
        JsonNode function = node.get("function");
        if (function == null || !function.isObject()) {
            throw new IllegalArgumentException(where + ".function must be an object with a name, got " + describe(function));
        }
        return function;
    }

    private static String role(JsonNode role, String where) {
        String name = role != null && role.isTextual() ? role.textValue() : null;
        if (name == null || !List.of("system", "developer", "user", "assistant", "tool").contains(name)) {
            throw new IllegalArgumentException(where + " must be system, developer, user, assistant or tool, got "
                    + describe(role));
        }
        return name.equals("developer") ? "system" : name;
    }

    private static String content(JsonNode content, String where, boolean mayBeAbsent) {
        if ((content == null || content.isNull()) && mayBeAbsent) {
            return "";
        }
        if (content != null && content.isTextual()) {
            return content.textValue();
        }
        if (content != null && content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (int p = 0; p < content.size(); p++) {
                JsonNode part = content.get(p);
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw new IllegalArgumentException(where + "[" + p + "] must be {\"type\": \"text\", \"text\": ...}; "
                            + "the models read text only, got " + describe(part));
                }
                text.append(part.get("text").textValue());
            }
            return text.toString();
        }
        throw new IllegalArgumentException(where + " must be a string or an array of text parts"
                + (mayBeAbsent ? " (or null beside tool_calls)" : "") + ", got " + describe(content));
    }

    private static String requiredText(JsonNode node, String where) {
        if (node == null || !node.isTextual() || node.textValue().isBlank()) {
            throw new IllegalArgumentException(where + " must be a non-empty string, got " + describe(node));
        }
        return node.textValue();
    }

    private static String optionalText(JsonNode node, String where) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw new IllegalArgumentException(where + " must be a string, got " + describe(node));
        }
        return node.textValue();
    }

    /** What a JSON value is, for messages: its type, and a short value for scalars. */
    private static String describe(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        String type = node.getNodeType().toString().toLowerCase(Locale.ROOT);
        if (node.isContainerNode()) {
            return "an " + (node.isArray() ? "array" : "object");
        }
        String text = node.toString();
        return type + " " + (text.length() > 40 ? text.substring(0, 40) + "..." : text);
    }
}
