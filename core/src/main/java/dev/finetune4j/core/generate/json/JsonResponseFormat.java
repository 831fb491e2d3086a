package dev.finetune4j.core.generate.json;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Optional;

/**
 * OpenAI's {@code response_format} request field, read into a grammar: {@code {"type": "text"}} (or no field) means
 * no constraint, {@code {"type": "json_object"}} any JSON object, and
 * {@code {"type": "json_schema", "json_schema": {"name": ..., "schema": {...}, "strict": true}}} the schema's values.
 *
 * <pre>{@code
 * Optional<JsonGrammar> grammar = JsonResponseFormat.grammar(request.path("response_format"));
 * }</pre>
 *
 * <p>Compiling a schema costs time proportional to its size; a server that sees the same schema often should cache
 * grammars by the schema's text. Stateless and thread-safe.
 */
public final class JsonResponseFormat {
    private JsonResponseFormat() {
    }

    /**
     * The grammar a {@code response_format} asks for.
     *
     * @param responseFormat the field's value; missing or null means plain text
     * @return the grammar, or empty for plain text
     * @throws JsonSchemaException when the field is malformed or the schema is not supported; its pointer is
     *                             relative to {@code response_format} (e.g. {@code /json_schema/schema/properties/a/pattern})
     */
    public static Optional<JsonGrammar> grammar(JsonNode responseFormat) {
        if (responseFormat == null || responseFormat.isMissingNode() || responseFormat.isNull()) {
            return Optional.empty();
        }
        String type = responseFormat.path("type").asText("");
        switch (type) {
            case "text" -> {
                return Optional.empty();
            }
            case "json_object" -> {
                return Optional.of(JsonGrammar.anyObject());
            }
            case "json_schema" -> {
                JsonNode spec = responseFormat.path("json_schema");
                if (!spec.path("name").isTextual() || spec.path("name").asText().isEmpty()) {
                    throw new JsonSchemaException("/json_schema/name", "response_format json_schema needs a name "
                            + "(letters, digits, _ and -, as OpenAI requires)");
                }
                if (!spec.path("schema").isObject()) {
                    throw new JsonSchemaException("/json_schema/schema", "response_format json_schema needs a schema "
                            + "object (the JSON Schema the output must satisfy)");
                }
                JsonNode strict = spec.path("strict");
                if (!strict.isMissingNode() && !strict.isNull() && !strict.isBoolean()) {
                    throw new JsonSchemaException("/json_schema/strict", "strict must be true or false, found " + strict);
                }
                try {
                    return Optional.of(JsonGrammar.fromSchema(spec.get("schema"), strict.asBoolean(false)));
                } catch (JsonSchemaException e) {
                    throw e.under("/json_schema/schema");
                }
            }
            default -> throw new JsonSchemaException("/type", "response_format type " + responseFormat.path("type")
                    + " is not supported; use \"text\", \"json_object\" or \"json_schema\"");
        }
    }
}
