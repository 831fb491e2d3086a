package dev.finetune4j.data.record;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.finetune4j.data.record.Schema.jsonType;

/**
 * The shape checks of OpenAI's tool fields, for {@link Schema#OPENAI}: a message's {@code tool_calls} and
 * {@code tool_call_id}, and a record's {@code tools}. Each error names the path of what was wrong.
 */
final class ToolShapes {
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

    /** A record's {@code tools}: absent, null, or an array of function tools. */
    static Optional<String> tools(Object tools) {
        if (tools == null) {
            return Optional.empty();
        }
        if (!(tools instanceof List<?> list)) {
            return Optional.of("field 'tools' must be an array of {\"type\": \"function\", \"function\": {...}}, found "
                    + jsonType(tools));
        }
        for (int i = 0; i < list.size(); i++) {
            String path = "tools[" + i + "]";
            Optional<String> error = function(list.get(i), path);
            if (error.isEmpty()) {
                Map<?, ?> function = (Map<?, ?>) ((Map<?, ?>) list.get(i)).get("function");
                Object parameters = function.get("parameters");
                error = optionalString(function, "description", path + ".function")
                        .or(() -> parameters == null || parameters instanceof Map<?, ?> ? Optional.empty()
                        : Optional.of(path + ".function.parameters must be a JSON Schema object, found "
                        + jsonType(parameters)));
            }
            if (error.isPresent()) {
                return error;
            }
        }
        return Optional.empty();
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
        if (!(function.get("name") instanceof String name) || name.isBlank()) {
            return Optional.of(path + ".function.name must be a non-empty string, found "
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
