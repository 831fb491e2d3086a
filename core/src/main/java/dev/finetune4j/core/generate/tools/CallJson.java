package dev.finetune4j.core.generate.tools;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.finetune4j.core.tokenizer.ToolCall;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Call objects as models write them, {@code {"name": "f", "arguments": {...}}}, read into {@link ToolCall}s. The
 * arguments may be under {@code arguments} (Hermes, Qwen, Mistral) or {@code parameters} (Llama 3.1 and 3.2, the
 * output of a {@code required} tool choice); absent, they are {@code {}}; given as JSON text of an object, that text.
 * Numbers keep the value the model wrote: decimals are read as {@link java.math.BigDecimal}s, as written, since a
 * double would round {@code 0.12345678901234567890} and turn {@code 1e400} into the string {@code "Infinity"}.
 */
final class CallJson {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES) // 100.0 stays 100.0, not 1E+2
            .build();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private CallJson() {
    }

    /** The call that {@code json} writes, or null when it is not JSON or not a call object. */
    static ToolCall call(String json, String id) {
        JsonNode node = parse(json);
        return node == null ? null : call(node, id);
    }

    /** The calls of a JSON array of call objects, or null when any element is not one. */
    static List<ToolCall> calls(String json, Supplier<String> ids) {
        JsonNode node = parse(json);
        if (node == null || !node.isArray()) {
            return null;
        }
        List<ToolCall> calls = new ArrayList<>();
        for (JsonNode element : node) {
            ToolCall call = call(element, ids.get());
            if (call == null) {
                return null;
            }
            calls.add(call);
        }
        return calls;
    }

    /** A call of {@code name} whose arguments are the JSON object {@code json}; null when it is not one. */
    static ToolCall callOf(String name, String json, String id) {
        JsonNode node = parse(json);
        return node != null && node.isObject() ? new ToolCall(id, name, json) : null;
    }

    /** {@code prefix} and {@code length} random letters and digits. */
    static String randomId(String prefix, int length) {
        StringBuilder id = new StringBuilder(prefix);
        for (int i = 0; i < length; i++) {
            id.append(ALPHANUMERIC.charAt(RANDOM.nextInt(ALPHANUMERIC.length())));
        }
        return id.toString();
    }

    private static ToolCall call(JsonNode node, String id) {
        if (!node.isObject() || !node.path("name").isTextual() || node.path("name").textValue().isBlank()) {
            return null;
        }
        JsonNode arguments = node.has("arguments") ? node.get("arguments") : node.get("parameters");
        String text;
        if (arguments == null || arguments.isNull()) {
            text = "{}";
        } else if (arguments.isObject()) {
            text = arguments.toString();
        } else if (arguments.isTextual() && parse(arguments.textValue()) instanceof JsonNode inner && inner.isObject()) {
            text = arguments.textValue();
        } else {
            return null;
        }
        return new ToolCall(id, node.get("name").textValue(), text);
    }

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (JacksonException e) {
            return null;
        }
    }
}
