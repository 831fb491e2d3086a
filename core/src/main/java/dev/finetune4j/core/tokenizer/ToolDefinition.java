package dev.finetune4j.core.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.Locale;
import java.util.Objects;

/**
 * A function a model may call, as OpenAI's {@code tools} entries describe one: {@code {"type": "function",
 * "function": {"name": ..., "description": ..., "parameters": <JSON Schema>}}}. Chat templates receive each tool in
 * that shape (what transformers passes when given such dicts), with the keys of {@code parameters} in the order
 * written.
 *
 * <pre>{@code
 * ToolDefinition weather = new ToolDefinition("get_weather", "Current weather in a city", """
 *     {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}""");
 * }</pre>
 *
 * @param name        the function's name
 * @param description what it does, for the model; null for none
 * @param parameters  a JSON Schema object for the arguments, as JSON text; null for none
 */
public record ToolDefinition(String name, String description, String parameters) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Checks that the name is given and {@code parameters}, when present, is a JSON object. */
    public ToolDefinition {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("a tool needs a function name, got a blank one");
        }
        if (parameters != null) {
            parametersNode(name, parameters);
        }
    }

    /**
     * The parameters' schema, parsed.
     *
     * @return the JSON Schema object, or null when the tool declares none
     */
    public JsonNode parametersSchema() {
        return parameters == null ? null : parametersNode(name, parameters);
    }

    private static JsonNode parametersNode(String name, String parameters) {
        JsonNode node;
        try {
            node = JSON.readTree(parameters);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("tool '" + name + "': parameters is not valid JSON ("
                    + e.getOriginalMessage() + "); give a JSON Schema object", e);
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("tool '" + name + "': parameters must be a JSON Schema object, got "
                    + (node == null ? "nothing" : node.getNodeType().toString().toLowerCase(Locale.ROOT)));
        }
        return node;
    }
}
