package dev.finetune4j.core.generate.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.tokenizer.ToolDefinition;

import java.util.List;
import java.util.Map;

/**
 * The JSON Schemas that force a tool call, for constrained decoding (as vLLM forces {@code tool_choice} with guided
 * decoding): {@link #function} for a choice that names a function, whose output {@link ToolCallFormat#function}
 * reads, and {@link #anyFunction} for {@code required}, read by {@link ToolCallFormat#anyFunction}. Tools' parameter
 * schemas often carry value assertions ({@code minimum}, {@code pattern}, {@code format}...): compile with
 * {@link dev.finetune4j.core.generate.json.JsonGrammar.ValueAssertions#SKIP}, which writes their shape and leaves
 * those unenforced.
 *
 * <pre>{@code
 * JsonGrammar grammar = JsonGrammar.fromSchema(ToolChoiceSchemas.anyFunction(tools, true), false,
 *         JsonGrammar.ValueAssertions.SKIP);
 * }</pre>
 *
 * <p>Stateless and thread-safe.
 */
public final class ToolChoiceSchemas {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ToolChoiceSchemas() {
    }

    /**
     * The schema of one function's arguments.
     *
     * @param tool the function
     * @return its {@code parameters}, or any object when it declares none
     */
    public static ObjectNode function(ToolDefinition tool) {
        JsonNode parameters = tool.parametersSchema();
        return parameters == null ? JSON.createObjectNode().put("type", "object") : (ObjectNode) parameters;
    }

    /**
     * The schema of one or more calls: an array of {@code {"name": <one tool's name>, "parameters": <its
     * schema>}} objects, one alternative per tool. Local {@code $ref}s in a tool's parameters are rewritten to point
     * into the alternative they now sit in.
     *
     * @param tools    the functions, at least one
     * @param parallel false for at most one call ({@code parallel_tool_calls: false})
     * @return the schema
     * @throws IllegalArgumentException when {@code tools} is empty
     */
    public static ObjectNode anyFunction(List<ToolDefinition> tools, boolean parallel) {
        if (tools.isEmpty()) {
            throw new IllegalArgumentException("a forced tool call needs at least one tool");
        }
        ObjectNode schema = JSON.createObjectNode().put("type", "array").put("minItems", 1);
        if (!parallel) {
            schema.put("maxItems", 1);
        }
        ArrayNode alternatives = schema.putObject("items").putArray("anyOf");
        for (int i = 0; i < tools.size(); i++) {
            ObjectNode call = alternatives.addObject().put("type", "object");
            ObjectNode properties = call.putObject("properties");
            properties.putObject("name").put("const", tools.get(i).name());
            String at = "/items/anyOf/" + i + "/properties/parameters";
            properties.set("parameters", rebased(function(tools.get(i)), at));
            call.putArray("required").add("name").add("parameters");
            call.put("additionalProperties", false);
        }
        return schema;
    }

    /** {@code schema} with each local {@code $ref} ({@code #...}) moved under {@code at}; rewritten in place. */
    private static JsonNode rebased(JsonNode schema, String at) {
        if (schema instanceof ObjectNode object) {
            for (Map.Entry<String, JsonNode> field : object.properties()) {
                if (field.getKey().equals("$ref") && field.getValue().isTextual() && field.getValue().textValue().startsWith("#")) {
                    field.setValue(JSON.getNodeFactory().textNode("#" + at + field.getValue().textValue().substring(1)));
                } else {
                    rebased(field.getValue(), at);
                }
            }
        } else if (schema instanceof ArrayNode array) {
            array.forEach(element -> rebased(element, at));
        }
        return schema;
    }
}
