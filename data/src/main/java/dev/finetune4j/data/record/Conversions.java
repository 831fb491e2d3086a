package dev.finetune4j.data.record;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Converts records between {@link Schema}s. Conversions that would have to invent content (plain text to
 * preference, for example) throw {@link IllegalArgumentException}.
 *
 * <p>All conversions go through one neutral form, a list of {@link Turn}s with roles {@code system}, {@code user},
 * {@code assistant} and {@code tool} (assistant turns may call tools, tool turns answer a call), so that every pair
 * of schemas is covered without a method per pair. It is also what a trainer takes: {@link #toTurns(Map)} and
 * {@link #tools(Map)} are the one place that reads a training record's shape. OpenAI and ShareGPT records hold tools
 * (ShareGPT's function_call and observation turns as {@link ShareGptTurns} reads them): a conversion of one with
 * tools, tool calls or tool turns to another shape is refused rather than dropping them.
 */
public final class Conversions {
    /** ShareGPT and OpenAI role names (any case) to the neutral roles. */
    private static final Map<String, String> ROLES = Map.of("system", "system", "developer", "system",
            "user", "user", "human", "user",
            "assistant", "assistant", "gpt", "assistant", "model", "assistant", "chatgpt", "assistant", "tool", "tool");
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * Where an OpenAI message keeps an assistant's reasoning trace: DeepSeek's API and Qwen3's template say
     * {@code reasoning_content} (written back under it), gpt-oss datasets {@code thinking}, some servers
     * {@code reasoning}.
     */
    private static final List<String> REASONING_KEYS = List.of("reasoning_content", "thinking", "reasoning");

    private Conversions() {
    }

    /**
     * One turn of a conversation in the neutral form.
     *
     * @param role       {@code system}, {@code user}, {@code assistant} or {@code tool}
     * @param content    the turn's text; empty for an assistant turn that only calls tools
     * @param toolCalls  the tools an assistant turn calls, in order; empty otherwise
     * @param toolCallId for a tool turn, the id of the call it answers (null when the data has none); null otherwise
     * @param reasoning  an assistant turn's reasoning trace (an OpenAI message's {@code reasoning_content},
     *                   {@code thinking} or {@code reasoning}); null for none, and for every other role
     */
    public record Turn(String role, String content, List<ToolCall> toolCalls, String toolCallId, String reasoning) {
        /** Checks that role and content are present and that only an assistant turn reasons; copies the calls. */
        public Turn {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
            toolCalls = List.copyOf(toolCalls);
            if (reasoning != null && !role.equals("assistant")) {
                throw new IllegalArgumentException("a " + role + " turn has a reasoning trace; only assistant turns do");
            }
        }

        /**
         * A turn without a reasoning trace.
         *
         * @param role       {@code system}, {@code user}, {@code assistant} or {@code tool}
         * @param content    the turn's text
         * @param toolCalls  the tools an assistant turn calls
         * @param toolCallId for a tool turn, the id of the call it answers; null otherwise
         */
        public Turn(String role, String content, List<ToolCall> toolCalls, String toolCallId) {
            this(role, content, toolCalls, toolCallId, null);
        }

        /**
         * A turn without tool calls.
         *
         * @param role    {@code system}, {@code user}, {@code assistant} or {@code tool}
         * @param content the turn's text
         */
        public Turn(String role, String content) {
            this(role, content, List.of(), null);
        }
    }

    /**
     * A tool call of an assistant turn in the neutral form.
     *
     * @param id        the call's id, which a tool turn's {@code toolCallId} answers; null when the data has none
     * @param name      the function's name
     * @param arguments the arguments as JSON text (an object in the record is written as compact JSON text)
     */
    public record ToolCall(String id, String name, String arguments) {
    }

    /**
     * A function the model may call, from a record's {@code tools}.
     *
     * @param name        the function's name
     * @param description what it does; null for none
     * @param parameters  its JSON Schema as JSON text, keys in the order written; null for none
     */
    public record Tool(String name, String description, String parameters) {
    }

    /**
     * Converts {@code record} to {@code target}, keeping its id, source and metadata. Tools, tool calls and tool
     * results go between OpenAI and ShareGPT both ways: OpenAI's {@code tools} become ShareGPT's JSON text of the bare
     * functions, and back; see {@link ShareGptTurns} for the turns and what makes the round trip exact.
     *
     * @param record a record of a conversation schema or {@code text}
     * @param target the schema to convert to; not {@link Schema#PREFERENCE}
     * @return the converted record, or {@code record} itself when it already has schema {@code target}
     * @throws IllegalArgumentException naming the record, when {@code target} cannot hold what it has
     */
    public static Record convert(Record record, Schema target) {
        Schema from = Schema.detect(record.fields()).orElseThrow(() -> new IllegalArgumentException(
                "record " + record.id() + " has no known schema (fields " + record.fields().keySet() + ")"));
        if (from == target) {
            return record;
        }
        if (target == Schema.PREFERENCE || from == Schema.PREFERENCE && target != Schema.TEXT) {
            throw new IllegalArgumentException("cannot convert " + from + " to " + target
                    + ": preference records pair two answers; build them with dev.finetune4j.data.preference");
        }
        List<Turn> turns = toTurns(record.fields(), from);
        List<Map<?, ?>> functions = ToolShapes.functions(record.fields().get("tools"));
        if (target != Schema.OPENAI && turns.stream().anyMatch(t -> t.reasoning() != null)) {
            throw new IllegalArgumentException("cannot convert record " + record.id() + " to " + target + ": its "
                    + "assistant turns carry reasoning traces, which only OPENAI messages hold (reasoning_content); "
                    + "keep it as OPENAI");
        }
        boolean toolConversation = target == Schema.OPENAI || target == Schema.SHAREGPT;
        if (!toolConversation && (!functions.isEmpty()
                || turns.stream().anyMatch(t -> !t.toolCalls().isEmpty() || t.role().equals("tool")))) {
            throw new IllegalArgumentException("cannot convert record " + record.id() + " to " + target + ": it has "
                    + "tools, tool calls or tool results, which " + target + " cannot hold; keep it as OPENAI (messages "
                    + "with tool_calls and tool turns, tools beside them) or SHAREGPT (function_call and observation "
                    + "turns, tools beside them)");
        }
        Map<String, Object> fields;
        try {
            fields = fromTurns(turns, target);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot convert record " + record.id() + " to " + target + ": "
                    + e.getMessage(), e);
        }
        if (!functions.isEmpty()) {
            fields.put("tools", target == Schema.SHAREGPT ? ShareGptTurns.toolsText(functions)
                    : functions.stream().map(f -> (Object) orderedMap("type", "function", "function", f)).toList());
        }
        return record.withFields(fields);
    }

    /**
     * The conversation of a training record of any accepted shape in neutral form: alpaca ({@code instruction},
     * optional {@code input} joined to it by a blank line, {@code output}, optional {@code system}), ShareGPT
     * ({@code conversations} of {@code from}/{@code value}, with function_call and observation turns), OpenAI
     * ({@code messages} of {@code role}/{@code content}, with {@code tool_calls} and tool turns), a preference record's
     * prompt and chosen answer, or plain {@code text} (one assistant turn).
     *
     * @param fields a record's fields
     * @return the turns in order
     * @throws IllegalArgumentException naming what was found and the accepted shapes, a missing or mistyped
     *                                  field, a role that is not system, user, assistant or tool under any name, or
     *                                  tool calls or a tool_call_id on a turn of another role
     */
    public static List<Turn> toTurns(Map<String, Object> fields) {
        Schema schema = Schema.detect(fields).orElseThrow(() -> new IllegalArgumentException("has the fields "
                + fields.keySet() + ", none of the accepted shapes: alpaca (instruction, input, output), ShareGPT "
                + "(conversations of from/value), OpenAI (messages of role/content), preference (prompt, chosen, "
                + "rejected) or plain (text)"));
        return toTurns(fields, schema);
    }

    /**
     * The conversation of a record of schema {@code from} in neutral form.
     *
     * @param f a record's fields
     * @param from the schema the fields follow
     * @return the turns in order
     * @throws IllegalArgumentException when the record does not fit {@code from} or has a role no table knows
     */
    public static List<Turn> toTurns(Map<String, Object> f, Schema from) {
        from.validate(f).ifPresent(error -> {
            throw new IllegalArgumentException(from + " record: " + error);
        });
        List<Turn> turns = new ArrayList<>();
        switch (from) {
            case TEXT -> turns.add(new Turn("assistant", (String) f.get("text")));
            case ALPACA -> {
                if (f.get("system") instanceof String system) {
                    turns.add(new Turn("system", system));
                }
                String input = f.get("input") instanceof String s ? s : "";
                String instruction = (String) f.get("instruction");
                turns.add(new Turn("user", input.isBlank() ? instruction : instruction + "\n\n" + input));
                turns.add(new Turn("assistant", (String) f.get("output")));
            }
            case PREFERENCE -> {
                turns.add(new Turn("user", (String) f.get("prompt")));
                turns.add(new Turn("assistant", (String) f.get("chosen")));
            }
            case OPENAI -> addMessages(turns, (List<?>) f.get("messages"));
            case SHAREGPT -> {
                List<Turn> conversation = ShareGptTurns.read((List<?>) f.get("conversations"));
                // LLaMA-Factory's system column: the system prompt, unless the conversation opens with its own
                boolean ownSystem = !conversation.isEmpty() && conversation.getFirst().role().equals("system");
                if (f.get("system") instanceof String system && !system.isEmpty() && !ownSystem) {
                    turns.add(new Turn("system", system));
                }
                turns.addAll(conversation);
            }
        }
        return turns;
    }

    /**
     * The functions a record's conversation may call: its {@code tools} (OpenAI or ShareGPT records), an array or
     * JSON text of one, each function wrapped ({@code {"type": "function", "function": {...}}}) or bare.
     *
     * @param fields a record's fields
     * @return the tools in order; empty when the record has none
     * @throws IllegalArgumentException naming the path of a tool that is not {@code {"type": "function",
     *                                  "function": {"name": ..., "description"?: ..., "parameters"?: {...}}}} or the
     *                                  function object alone
     */
    public static List<Tool> tools(Map<String, Object> fields) {
        ToolShapes.tools(fields.get("tools")).ifPresent(error -> {
            throw new IllegalArgumentException(error);
        });
        List<Map<?, ?>> functions = ToolShapes.functions(fields.get("tools"));
        List<Tool> out = new ArrayList<>(functions.size());
        for (Map<?, ?> function : functions) {
            Object parameters = function.get("parameters");
            out.add(new Tool((String) function.get("name"), (String) function.get("description"),
                    parameters == null ? null : jsonText(parameters)));
        }
        return out;
    }

    /**
     * The neutral role of an OpenAI or ShareGPT role name.
     *
     * @param name a role name, any case
     * @return system, user, assistant or tool; empty when no table knows the name
     */
    static Optional<String> neutralRole(String name) {
        return Optional.ofNullable(ROLES.get(name.toLowerCase(Locale.ROOT)));
    }

    private static void addMessages(List<Turn> out, List<?> messages) {
        for (int i = 0; i < messages.size(); i++) {
            Map<?, ?> t = (Map<?, ?>) messages.get(i);
            String name = (String) t.get("role");
            int turn = i;
            String role = neutralRole(name).orElseThrow(() -> new IllegalArgumentException("turn " + turn
                    + " has the role '" + name + "'; use system/developer, user/human, assistant/gpt/model or tool"));
            List<ToolCall> calls = toolCalls(t.get("tool_calls"));
            if (!calls.isEmpty() && !role.equals("assistant")) {
                throw new IllegalArgumentException("turn " + i + " is a " + name + " turn with tool_calls; only "
                        + "assistant turns call tools");
            }
            Object callId = t.get("tool_call_id");
            if (callId != null && !role.equals("tool")) {
                throw new IllegalArgumentException("turn " + i + " is a " + name + " turn with a tool_call_id; only "
                        + "tool turns answer calls");
            }
            String reasoning = reasoning(t, i);
            if (reasoning != null && !role.equals("assistant")) {
                throw new IllegalArgumentException("turn " + i + " is a " + name + " turn with a reasoning trace; only "
                        + "assistant turns carry one");
            }
            out.add(new Turn(role, t.get("content") instanceof String s ? s : "", calls, (String) callId, reasoning));
        }
    }

    /**
     * A message's reasoning trace under any of {@link #REASONING_KEYS} (null values are absent ones), or null; the
     * same text under two keys is one trace, two different texts an error.
     */
    private static String reasoning(Map<?, ?> message, int turn) {
        String found = null;
        String foundKey = null;
        for (String key : REASONING_KEYS) {
            Object value = message.get(key);
            if (value == null) {
                continue;
            }
            if (!(value instanceof String text)) {
                throw new IllegalArgumentException("turn " + turn + "'s " + key + " must be text, not " + value);
            }
            if (found != null && !found.equals(text)) {
                throw new IllegalArgumentException("turn " + turn + " has two different reasoning traces, in " + foundKey
                        + " and " + key + "; keep one of the keys");
            }
            found = text;
            foundKey = key;
        }
        return found;
    }

    /** A message's {@code tool_calls}, shapes checked by {@link Schema#validate}. */
    private static List<ToolCall> toolCalls(Object calls) {
        if (!(calls instanceof List<?> list)) {
            return List.of();
        }
        List<ToolCall> out = new ArrayList<>(list.size());
        for (Object c : list) {
            Map<?, ?> call = (Map<?, ?>) c;
            Map<?, ?> function = (Map<?, ?>) call.get("function");
            Object arguments = function.get("arguments");
            out.add(new ToolCall((String) call.get("id"), (String) function.get("name"),
                    arguments == null ? "{}" : arguments instanceof String s ? s : jsonText(arguments)));
        }
        return out;
    }

    private static String jsonText(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed JSON value could not be written back: " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> fromTurns(List<Turn> turns, Schema target) {
        Map<String, Object> out = new LinkedHashMap<>();
        switch (target) {
            case TEXT -> out.put("text", String.join("\n", turns.stream().map(Turn::content).toList()));
            case ALPACA -> {
                turns.stream().filter(t -> t.role().equals("system")).findFirst()
                        .ifPresent(t -> out.put("system", t.content()));
                out.put("instruction", firstOf(turns, "user"));
                out.put("input", "");
                out.put("output", firstOf(turns, "assistant"));
            }
            case OPENAI -> out.put("messages", turns.stream().map(Conversions::openAiMessage).toList());
            case SHAREGPT -> out.put("conversations", ShareGptTurns.write(turns));
            case PREFERENCE -> throw new IllegalStateException("unreachable: checked by convert");
        }
        return out;
    }

    private static Object openAiMessage(Turn t) {
        Map<String, Object> m = orderedMap("role", t.role(), "content", t.content());
        if (!t.toolCalls().isEmpty()) {
            m.put("tool_calls", t.toolCalls().stream().map(c -> {
                Map<String, Object> call = new LinkedHashMap<>();
                if (c.id() != null) {
                    call.put("id", c.id());
                }
                call.put("type", "function");
                call.put("function", orderedMap("name", c.name(), "arguments", c.arguments()));
                return (Object) call;
            }).toList());
        }
        if (t.toolCallId() != null) {
            m.put("tool_call_id", t.toolCallId());
        }
        if (t.reasoning() != null) {
            m.put(REASONING_KEYS.getFirst(), t.reasoning());
        }
        return m;
    }

    private static String firstOf(List<Turn> turns, String role) {
        return turns.stream().filter(t -> t.role().equals(role)).map(Turn::content).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("conversation has no '" + role + "' turn"));
    }

    private static Map<String, Object> orderedMap(String k1, Object v1, String k2, Object v2) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(k1, v1);
        m.put(k2, v2);
        return m;
    }
}
