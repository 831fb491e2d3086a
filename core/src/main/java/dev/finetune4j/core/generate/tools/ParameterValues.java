package dev.finetune4j.core.generate.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A parameter's text, as Qwen3-Coder and Qwen3.5 write it between {@code <parameter=NAME>} tags, turned into a JSON
 * value by the type the tool's JSON Schema gives the parameter, as vLLM's {@code qwen3_coder} parser does: the text is
 * untyped, and the chat template wrote strings raw, objects and arrays as JSON ({@code tojson}) and other values as
 * Python prints them ({@code True}, {@code None}).
 *
 * <ul>
 *   <li>no schema for the parameter (no tools given, a function or a parameter the tools do not declare), a
 *   {@code string} type, a type this reader does not know, or none: the text as a JSON string, exactly as written;</li>
 *   <li>a schema that admits null ({@code null} among its types or its {@code anyOf}/{@code oneOf} options' types,
 *   OpenAPI's {@code nullable: true}), or one of the types below: {@code null} or {@code None} (any case) is
 *   {@code null};</li>
 *   <li>{@code integer}: a JSON integer, {@code number}: a JSON number, each kept as written (never through a double);
 *   {@code boolean}: {@code true} or {@code false} in any case ({@code True} is what the template wrote);
 *   {@code object} and {@code array}: one JSON value, written without the whitespace outside strings. Surrounding
 *   whitespace does not count for these types;</li>
 *   <li>text that is not the type's value is kept as a JSON string, so nothing the model wrote is lost and a client
 *   validating against the schema sees the mismatch. (vLLM turns a boolean that is not {@code true}/{@code false}
 *   into {@code false}, goes through a Python float for numbers, and tries Python literals for objects and arrays.)</li>
 * </ul>
 *
 * <p>The type is the first name other than {@code null} in {@code type} (a name or a list), else in the
 * {@code anyOf}/{@code oneOf} options' types. {@code $ref}s are not followed: such a parameter is a string.
 *
 * <p>Stateless and thread-safe.
 */
final class ParameterValues {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** JSON's number and integer grammars (RFC 8259 section 6), possessive: linear on any text. */
    private static final Pattern NUMBER = Pattern.compile("-?+(?:0|[1-9][0-9]*+)(?:\\.[0-9]++)?+(?:[eE][+-]?+[0-9]++)?+");
    private static final Pattern INTEGER = Pattern.compile("-?+(?:0|[1-9][0-9]*+)");

    private ParameterValues() {
    }

    /**
     * The JSON value of one parameter.
     *
     * @param schema the parameter's schema (its entry in {@code properties}), or null when there is none
     * @param text   the text between the tags, less its one leading and one trailing newline
     * @return the value as JSON text
     */
    static String json(JsonNode schema, String text) {
        if (schema == null || !schema.isObject()) {
            return string(text);
        }
        List<String> types = typeNames(schema.get("type"));
        for (String union : List.of("anyOf", "oneOf")) {
            schema.path(union).forEach(option -> types.addAll(typeNames(option.get("type"))));
        }
        String type = types.stream().filter(t -> !t.equals("null")).findFirst().orElse("string");
        boolean admitsNull = types.contains("null") || schema.path("nullable").asBoolean(false);
        String trimmed = text.strip();
        boolean typed = List.of("integer", "number", "boolean", "object", "array").contains(type);
        if ((typed || admitsNull) && (trimmed.equalsIgnoreCase("null") || trimmed.equalsIgnoreCase("none"))) {
            return "null";
        }
        return switch (type) {
            case "integer" -> INTEGER.matcher(trimmed).matches() ? trimmed : string(text);
            case "number" -> NUMBER.matcher(trimmed).matches() ? trimmed : string(text);
            case "boolean" -> trimmed.equalsIgnoreCase("true") || trimmed.equalsIgnoreCase("false")
                    ? trimmed.toLowerCase(Locale.ROOT) : string(text);
            case "object", "array" -> container(trimmed, text);
            default -> string(text);
        };
    }

    /** The names a {@code type} keyword gives (one name or a list), lower-cased; empty for none. */
    private static List<String> typeNames(JsonNode type) {
        List<String> names = new ArrayList<>();
        if (type != null && type.isTextual()) {
            names.add(type.textValue().strip().toLowerCase(Locale.ROOT));
        } else if (type != null && type.isArray()) {
            type.forEach(name -> names.addAll(typeNames(name)));
        }
        return names;
    }

    /** One JSON value (an object's or array's text less the whitespace outside strings), else {@code text} as a string. */
    private static String container(String trimmed, String text) {
        JsonNode node = CallJson.parse(trimmed);
        if (node == null) {
            return string(text);
        }
        return node.isContainerNode() ? ArgumentsText.minify(trimmed) : trimmed;
    }

    /** {@code text} as a JSON string. */
    static String string(String text) {
        try {
            return JSON.writeValueAsString(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a Java string could not be written as JSON: " + e.getMessage(), e);
        }
    }
}
