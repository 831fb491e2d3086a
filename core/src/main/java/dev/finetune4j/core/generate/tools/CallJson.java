package dev.finetune4j.core.generate.tools;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.finetune4j.core.tokenizer.ToolCall;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Call objects as models write them, {@code {"name": "f", "arguments": {...}}}, read into {@link ToolCall}s. The
 * arguments may be under {@code arguments} (Hermes, Qwen, Mistral) or {@code parameters} (Llama 3.1 and 3.2, the
 * output of a {@code required} tool choice); absent, they are {@code {}}; given as JSON text of an object, that text.
 * An object's arguments are its text as written less the whitespace outside strings ({@link ArgumentsText}), the same
 * text a stream sends in pieces. A key given twice, or both {@code arguments} and {@code parameters}, makes the object
 * no call (which value counts would be a guess).
 */
final class CallJson {
    private static final ObjectMapper JSON = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private CallJson() {
    }

    /** The call that {@code json} writes, or null when it is not JSON or not a call object. */
    static ToolCall call(String json, String id) {
        JsonNode node = parse(json);
        return node == null ? null : call(node, json, id);
    }

    /** The calls of a JSON array of call objects, or null when any element is not one. */
    static List<ToolCall> calls(String json, Supplier<String> ids) {
        List<String> elements = rawElements(json);
        if (elements == null) {
            return null;
        }
        List<ToolCall> calls = new ArrayList<>();
        for (String element : elements) {
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
        return node != null && node.isObject() ? new ToolCall(id, name, ArgumentsText.minify(json)) : null;
    }

    /** {@code prefix} and {@code length} random letters and digits. */
    static String randomId(String prefix, int length) {
        StringBuilder id = new StringBuilder(prefix);
        for (int i = 0; i < length; i++) {
            id.append(ALPHANUMERIC.charAt(RANDOM.nextInt(ALPHANUMERIC.length())));
        }
        return id.toString();
    }

    private static ToolCall call(JsonNode node, String json, String id) {
        if (!node.isObject() || !node.path("name").isTextual() || node.path("name").textValue().isBlank()) {
            return null;
        }
        if (node.has("arguments") && node.has("parameters")) {
            return null; // which one holds the arguments would be a guess
        }
        String key = node.has("arguments") ? "arguments" : "parameters";
        JsonNode arguments = node.get(key);
        String text;
        if (arguments == null || arguments.isNull()) {
            text = "{}";
        } else if (arguments.isObject()) {
            text = ArgumentsText.minify(rawMember(json, key));
        } else if (arguments.isTextual() && parse(arguments.textValue()) instanceof JsonNode inner && inner.isObject()) {
            text = arguments.textValue();
        } else {
            return null;
        }
        return new ToolCall(id, node.get("name").textValue(), text);
    }

    /** The text of the top-level member {@code key} of the valid JSON object {@code json}, an object or array. */
    private static String rawMember(String json, String key) {
        try (JsonParser parser = JSON.createParser(json)) {
            parser.nextToken();
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                parser.nextToken();
                if (name.equals(key)) {
                    int start = (int) parser.currentTokenLocation().getCharOffset();
                    return json.substring(start, JsonSpans.end(json, start));
                }
                parser.skipChildren();
            }
            throw new IllegalStateException("no member '" + key + "' in " + json);
        } catch (IOException e) {
            throw new IllegalStateException("JSON that parsed once failed to parse again: " + e.getMessage(), e);
        }
    }

    /** The texts of the elements of a JSON array of objects, or null when it is not one. */
    private static List<String> rawElements(String json) {
        if (!(parse(json) instanceof JsonNode node) || !node.isArray()) {
            return null;
        }
        List<String> elements = new ArrayList<>();
        try (JsonParser parser = JSON.createParser(json)) {
            parser.nextToken();
            while (parser.nextToken() != JsonToken.END_ARRAY) {
                if (parser.currentToken() != JsonToken.START_OBJECT) {
                    return null;
                }
                int start = (int) parser.currentTokenLocation().getCharOffset();
                elements.add(json.substring(start, JsonSpans.end(json, start)));
                parser.skipChildren();
            }
            return elements;
        } catch (IOException e) {
            throw new IllegalStateException("JSON that parsed once failed to parse again: " + e.getMessage(), e);
        }
    }

    /** {@code json} parsed when it is exactly one JSON value with no key given twice in an object, else null. */
    static JsonNode parse(String json) {
        try {
            JsonNode node = JSON.readTree(json);
            return node == null || node.isMissingNode() ? null : node; // blank text
        } catch (JacksonException e) {
            return null;
        }
    }
}
