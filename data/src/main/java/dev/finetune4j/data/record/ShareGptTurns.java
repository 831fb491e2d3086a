package dev.finetune4j.data.record;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.data.record.Conversions.ToolCall;
import dev.finetune4j.data.record.Conversions.Turn;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * ShareGPT conversations to and from the neutral turns, tool turns included as LLaMA-Factory's sharegpt format (and
 * glaive-function-calling and the other datasets made for it) writes them: {@code {"from": "function_call", "value":
 * "<JSON text>"}} holds the assistant's call {@code {"name": ..., "arguments": {...}}} or an array of parallel calls,
 * and {@code {"from": "observation", "value": ...}} a tool's result.
 *
 * <p>Reading: a function_call turn is an assistant turn with tool calls, joined to a gpt turn right before it (how an
 * OpenAI message with both text and calls is written here; LLaMA-Factory's strict alternation never has one there).
 * A call keeps the {@code "id"} its JSON gives, or gets {@code call_<n>}, n counting the conversation's calls from 0.
 * The observations right after a function_call of n calls answer it: n observations answer a call each, in order
 * (their tool turns carry the calls' ids); one observation answers all n (LLaMA-Factory's layout, whose strict
 * alternation allows only one), its tool turn then carrying no id. An observation anywhere else is refused, as is
 * any other count. ({@code "from": "tool"} reads as observation.)
 *
 * <p>Writing is the inverse, so that ShareGPT to OpenAI and back gives the record written (in the layout of Python's
 * {@code json.dumps}, which these datasets use), and OpenAI to ShareGPT and back gives the turns read: an id is written
 * only where it is not the generated one; arguments that are one JSON object are written as that object, spelling
 * kept, other arguments text as a JSON string. Results that ShareGPT's position linking cannot express (out of order,
 * or one answering only some of several calls) are refused.
 */
final class ShareGptTurns {
    private static final JsonFactory JSON = new JsonFactory();
    private static final ObjectMapper PYTHON_LAYOUT = new ObjectMapper();
    private static final Map<String, String> ROLE_NAMES = Map.of("user", "human", "assistant", "gpt", "system", "system");
    private static final String FUNCTION_CALL = "function_call";
    private static final String OBSERVATION = "observation";
    private static final String CALL_SHAPE = "write it as JSON text of {\"name\": ..., \"arguments\": {...}} or of an "
            + "array of such calls";

    private ShareGptTurns() {
    }

    /**
     * The first problem of a ShareGPT conversation's tool turns (a function_call value that is not a call, an
     * observation that answers none), naming the turn; role names are {@link #read}'s to refuse.
     */
    static Optional<String> check(List<?> turns) {
        try {
            read(turns, (name, i) -> Conversions.neutralRole(name).orElse(name));
            return Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** A checked ShareGPT conversation as neutral turns; a role name no table knows is refused. */
    static List<Turn> read(List<?> turns) {
        return read(turns, (name, i) -> Conversions.neutralRole(name).orElseThrow(() -> new IllegalArgumentException(
                "turn " + i + " has the role '" + name + "'; use system/developer, user/human, assistant/gpt/model, "
                        + "function_call or observation/tool")));
    }

    private static List<Turn> read(List<?> turns, BiFunction<String, Integer, String> roleOf) {
        List<Turn> out = new ArrayList<>();
        int callCount = 0;
        boolean afterText = false;
        for (int i = 0; i < turns.size(); i++) {
            String from = from(turns.get(i));
            String value = value(turns.get(i));
            if (from.equals(FUNCTION_CALL)) {
                List<ToolCall> calls = calls(value, callCount, i);
                callCount += calls.size();
                String text = afterText ? out.removeLast().content() : "";
                out.add(new Turn("assistant", text, calls, null));
                int results = 0;
                while (i + 1 + results < turns.size() && isResult(from(turns.get(i + 1 + results)))) {
                    results++;
                }
                if (results > 1 && results != calls.size()) {
                    throw new IllegalArgumentException("conversations[" + (i + 1) + "] starts " + results + " "
                            + "observations after a function_call of " + calls.size() + " call(s): answer parallel calls "
                            + "with one observation each, in order, or with one observation for all");
                }
                for (int k = 1; k <= results; k++) {
                    out.add(new Turn("tool", value(turns.get(i + k)), List.of(),
                            results == calls.size() ? calls.get(k - 1).id() : null));
                }
                i += results;
                afterText = false;
            } else if (isResult(from)) {
                throw new IllegalArgumentException("conversations[" + i + "] is an observation (a tool's result) with no "
                        + "function_call before it; put it right after the function_call turn whose call it answers");
            } else {
                String role = roleOf.apply(from, i);
                out.add(new Turn(role, value));
                afterText = role.equals("assistant");
            }
        }
        return out;
    }

    /**
     * Neutral turns as ShareGPT turns.
     *
     * @throws IllegalArgumentException naming the turn, for a tool result that ShareGPT's position linking cannot hold
     */
    static List<Object> write(List<Turn> turns) {
        List<Object> out = new ArrayList<>();
        int callCount = 0;
        for (int i = 0; i < turns.size(); i++) {
            Turn t = turns.get(i);
            if (t.role().equals("tool")) {
                throw new IllegalArgumentException("turn " + i + " is a tool result with no tool call right before it, "
                        + "which ShareGPT cannot hold: it links an observation to the function_call before it");
            }
            List<ToolCall> calls = t.toolCalls();
            if (calls.isEmpty() || !t.content().isEmpty()) {
                out.add(turn(ROLE_NAMES.getOrDefault(t.role(), t.role()), t.content()));
            }
            if (calls.isEmpty()) {
                continue;
            }
            out.add(turn(FUNCTION_CALL, callsValue(calls, callCount)));
            callCount += calls.size();
            int results = 0;
            while (i + 1 + results < turns.size() && turns.get(i + 1 + results).role().equals("tool")) {
                results++;
            }
            for (int k = 0; k < results; k++) {
                String answers = turns.get(i + 1 + k).toolCallId();
                boolean linked = results == calls.size() ? answers == null || answers.equals(calls.get(k).id())
                        : results == 1 && answers == null;
                if (!linked) {
                    throw new IllegalArgumentException("turn " + (i + 1 + k) + " (a tool result answering "
                            + (answers == null ? "no call id" : "'" + answers + "'") + ") cannot be linked by position, "
                            + "which is how ShareGPT links results: the " + calls.size() + " call(s) of turn " + i
                            + " need one result each, in the calls' order, or one result without tool_call_id for all");
                }
                out.add(turn(OBSERVATION, turns.get(i + 1 + k).content()));
            }
            i += results;
        }
        return out;
    }

    /** A record's functions as ShareGPT's {@code tools}: JSON text of the bare function objects. */
    static String toolsText(List<Map<?, ?>> functions) {
        try {
            return PYTHON_LAYOUT.writer(new PythonLayout()).writeValueAsString(functions);
        } catch (JacksonException e) {
            throw new IllegalStateException("parsed tools could not be written back: " + e.getOriginalMessage(), e);
        }
    }

    /** The calls a function_call value holds, ids generated from {@code firstIndex} where it gives none. */
    private static List<ToolCall> calls(String value, int firstIndex, int turn) {
        String at = "conversations[" + turn + "].value (function_call) ";
        List<ToolCall> out = new ArrayList<>();
        try (JsonParser p = JSON.createParser(value)) {
            JsonToken first = p.nextToken();
            if (first == JsonToken.START_OBJECT) {
                out.add(call(p, value, firstIndex, at));
            } else if (first == JsonToken.START_ARRAY) {
                for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                    if (t != JsonToken.START_OBJECT) {
                        throw new IllegalArgumentException(at + "holds an array whose item " + out.size()
                                + " is not a call object; " + CALL_SHAPE);
                    }
                    out.add(call(p, value, firstIndex + out.size(), at + "call " + out.size() + " "));
                }
                if (out.isEmpty()) {
                    throw new IllegalArgumentException(at + "is an empty array of calls; " + CALL_SHAPE);
                }
            } else {
                throw new IllegalArgumentException(at + "is not JSON text of a call; " + CALL_SHAPE);
            }
            if (p.nextToken() != null) {
                throw new IllegalArgumentException(at + "has text after the call's JSON; " + CALL_SHAPE);
            }
        } catch (JacksonException e) {
            throw new IllegalArgumentException(at + "is not JSON (" + e.getOriginalMessage() + "); " + CALL_SHAPE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** The call object {@code p} stands at the start of; its arguments kept as written. */
    private static ToolCall call(JsonParser p, String text, int index, String at) throws IOException {
        String name = null;
        String id = null;
        String arguments = "{}";
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            JsonToken v = p.nextToken();
            switch (key) {
                case "name" -> name = v == JsonToken.VALUE_STRING ? p.getText() : null;
                case "id" -> {
                    if (v != JsonToken.VALUE_STRING) {
                        throw new IllegalArgumentException(at + "has an id that is not a string");
                    }
                    id = p.getText();
                }
                case "arguments" -> arguments = switch (v) {
                    case START_OBJECT -> {
                        int start = (int) p.currentTokenLocation().getCharOffset();
                        p.skipChildren();
                        yield text.substring(start, (int) p.currentLocation().getCharOffset());
                    }
                    case VALUE_STRING -> p.getText();
                    case VALUE_NULL -> "{}";
                    default -> throw new IllegalArgumentException(at + "has arguments that are neither an object nor "
                            + "JSON text; " + CALL_SHAPE);
                };
                default -> p.skipChildren();
            }
        }
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException(at + "has no function name (a non-empty string under \"name\"); "
                    + CALL_SHAPE);
        }
        return new ToolCall(id != null ? id : generatedId(index), name, arguments);
    }

    /**
     * A function_call value: one call as an object, parallel calls as an array; an id only where it is not the
     * generated one.
     */
    private static String callsValue(List<ToolCall> calls, int firstIndex) {
        List<String> objects = new ArrayList<>(calls.size());
        for (int k = 0; k < calls.size(); k++) {
            ToolCall c = calls.get(k);
            StringBuilder s = new StringBuilder("{\"name\": ").append(quoted(c.name())).append(", \"arguments\": ")
                    .append(isJsonObject(c.arguments()) ? c.arguments() : quoted(c.arguments()));
            if (c.id() != null && !c.id().equals(generatedId(firstIndex + k))) {
                s.append(", \"id\": ").append(quoted(c.id()));
            }
            objects.add(s.append('}').toString());
        }
        return objects.size() == 1 ? objects.getFirst() : "[" + String.join(", ", objects) + "]";
    }

    private static String generatedId(int index) {
        return "call_" + index;
    }

    private static boolean isJsonObject(String text) {
        try (JsonParser p = JSON.createParser(text)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            p.skipChildren();
            return p.nextToken() == null;
        } catch (JacksonException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String quoted(String s) {
        StringBuilder out = new StringBuilder("\"");
        JsonStringEncoder.getInstance().quoteAsString(s, out);
        return out.append('"').toString();
    }

    private static boolean isResult(String from) {
        return from.equals(OBSERVATION) || from.equals("tool");
    }

    /** A checked turn's role name, lower case. */
    private static String from(Object turn) {
        return ((String) ((Map<?, ?>) turn).get("from")).toLowerCase(Locale.ROOT);
    }

    private static String value(Object turn) {
        return (String) ((Map<?, ?>) turn).get("value");
    }

    private static Map<String, Object> turn(String from, String value) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("from", from);
        m.put("value", value);
        return m;
    }

    /** Python's {@code json.dumps} layout: {@code ", "} between items, {@code ": "} after a key, nothing else. */
    private static final class PythonLayout extends MinimalPrettyPrinter {
        @Override
        public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(": ");
        }

        @Override
        public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
            g.writeRaw(", ");
        }

        @Override
        public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(", ");
        }
    }
}
