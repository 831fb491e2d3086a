package dev.finetune4j.data.record;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.finetune4j.data.record.Schema.jsonType;

/**
 * The shape checks of the tool fields: an OpenAI message's {@code tool_calls} and {@code tool_call_id}, and a
 * record's {@code tools} (OpenAI or ShareGPT). Each error names the path of what was wrong.
 */
final class ToolShapes {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ToolShapes() {
    }

    /** The message at {@code at}'s {@code tool_calls} (absent, null or an array of calls) and {@code tool_call_id}. */
    static Optional<String> messageParts(Map<?, ?> message, String at) {
        Object id = message.get("tool_call_id");
        if (id != null && !(id instanceof String)) {
            return Optional.of(at + ".tool_call_id must be a string, found " + jsonType(id));
        }
        Object calls = message.get("tool_calls");
        if (calls == null) {
            return Optional.empty();
        }
        if (!(calls instanceof List<?> list)) {
            return Optional.of(at + ".tool_calls must be an array of calls, found " + jsonType(calls));
        }
        for (int c = 0; c < list.size(); c++) {
            String path = at + ".tool_calls[" + c + "]";
            Optional<String> error = function(list.get(c), path);
            if (error.isEmpty()) {
                Map<?, ?> call = (Map<?, ?>) list.get(c);
                Object arguments = ((Map<?, ?>) call.get("function")).get("arguments");
                error = optionalString(call, "id", path).or(() -> arguments == null || arguments instanceof String
                        || arguments instanceof Map<?, ?> ? Optional.empty()
                        : Optional.of(path + ".function.arguments must be JSON text or an object, found "
                        + jsonType(arguments)));
            }
            if (error.isPresent()) {
                return error;
            }
        }
        return Optional.empty();
    }

    /**
     * A record's {@code tools}: absent, null, an array of functions or JSON text of one (ShareGPT datasets such as
     * glaive's hold a string). Each function is wrapped as OpenAI writes it ({@code {"type": "function", "function":
     * {...}}}) or bare as LLaMA-Factory's sharegpt format writes it ({@code {"name": ..., "description"?: ...,
     * "parameters"?: {...}}}).
     */
    static Optional<String> tools(Object tools) {
        List<?> list;
        try {
            list = toolList(tools);
        } catch (IllegalArgumentException e) {
            return Optional.of(e.getMessage());
        }
        for (int i = 0; i < list.size(); i++) {
            String path = "tools[" + i + "]";
            Object entry = list.get(i);
            boolean wrapped = !(entry instanceof Map<?, ?> map) || map.containsKey("function") || map.containsKey("type");
            Optional<String> error = wrapped ? function(entry, path) : named((Map<?, ?>) entry, path);
            if (error.isEmpty()) {
                String at = wrapped ? path + ".function" : path;
                Map<?, ?> function = wrapped ? (Map<?, ?>) ((Map<?, ?>) entry).get("function") : (Map<?, ?>) entry;
                Object parameters = function.get("parameters");
                error = optionalString(function, "description", at)
                        .or(() -> parameters == null || parameters instanceof Map<?, ?> ? Optional.empty()
                        : Optional.of(at + ".parameters must be a JSON Schema object, found " + jsonType(parameters)));
            }
            if (error.isPresent()) {
                return error;
            }
        }
        return Optional.empty();
    }

    /**
     * The function objects of a record's {@code tools} checked by {@link #tools}, unwrapped: {@code {"name": ...,
     * "description"?: ..., "parameters"?: {...}}} with any other keys, in the order written.
     */
    static List<Map<?, ?>> functions(Object tools) {
        return toolList(tools).stream().map(entry -> {
            Map<?, ?> map = (Map<?, ?>) entry;
            return map.get("function") instanceof Map<?, ?> function ? function : map;
        }).toList();
    }

    /** The array a record's {@code tools} holds, parsed when it is JSON text; blank text and null hold none. */
    private static List<?> toolList(Object tools) {
        Object value = tools;
        if (tools instanceof String text) {
            if (text.isBlank()) {
                return List.of();
            }
            try {
                value = JSON.readValue(text, Object.class);
            } catch (JacksonException e) {
                throw new IllegalArgumentException("field 'tools' is text but not JSON (" + e.getOriginalMessage()
                        + "); write the array of functions itself or its JSON text");
            }
        }
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List<?> list)) {
            throw new IllegalArgumentException("field 'tools' must be an array of functions ({\"type\": \"function\", "
                    + "\"function\": {...}} or {\"name\": ..., \"parameters\": {...}}) or JSON text of one, found "
                    + (tools instanceof String ? "text of " : "") + jsonType(value));
        }
        return list;
    }

    /** {@code {"type"?: "function", "function": {"name": <non-empty string>, ...}}} at {@code path}. */
    private static Optional<String> function(Object entry, String path) {
        if (!(entry instanceof Map<?, ?> map)) {
            return Optional.of(path + " must be an object, found " + jsonType(entry));
        }
        Object type = map.get("type");
        if (type != null && !"function".equals(type)) {
            return Optional.of(path + ".type must be \"function\", found " + (type instanceof String s ? "\"" + s + "\""
                    : jsonType(type)) + "; only function tools are supported");
        }
        if (!(map.get("function") instanceof Map<?, ?> function)) {
            return Optional.of(path + ".function must be an object with a name, found " + jsonType(map.get("function")));
        }
        return named(function, path + ".function");
    }

    /** A function object's {@code name} at {@code path}: a non-empty string. */
    private static Optional<String> named(Map<?, ?> function, String path) {
        if (!(function.get("name") instanceof String name) || name.isBlank()) {
            return Optional.of(path + ".name must be a non-empty string, found "
                    + (function.get("name") instanceof String ? "a blank one" : jsonType(function.get("name"))));
        }
        return Optional.empty();
    }

    private static Optional<String> optionalString(Map<?, ?> map, String key, String path) {
        Object v = map.get(key);
        return v == null || v instanceof String ? Optional.empty()
                : Optional.of(path + "." + key + " must be a string, found " + jsonType(v));
    }
}
