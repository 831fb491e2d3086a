package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.generate.json.JsonGrammar;
import dev.finetune4j.core.generate.json.JsonGrammar.ValueAssertions;
import dev.finetune4j.core.generate.json.JsonSchemaException;
import dev.finetune4j.core.tokenizer.ToolDefinition;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The forced tool-call schemas compiled as the server compiles them (value assertions skipped): the grammar takes
 * exactly the calls the tools allow, by hand-written candidates.
 */
class ToolChoiceSchemasTest {
    private static final ToolDefinition WEATHER = new ToolDefinition("get_weather", "Weather in a city", """
            {"type": "object", "properties": {"city": {"type": "string", "pattern": "^[A-Z]"},
             "days": {"type": "integer", "minimum": 1, "maximum": 7}}, "required": ["city"]}""");
    private static final ToolDefinition TREE = new ToolDefinition("plant", null, """
            {"type": "object", "properties": {"root": {"$ref": "#/$defs/node"}}, "required": ["root"],
             "$defs": {"node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
             "required": ["kids"]}}}""");
    private static final ToolDefinition PING = new ToolDefinition("ping", null, null);

    @Test
    void aNamedFunctionIsItsArgumentsWithValueAssertionsUnenforced() {
        JsonGrammar g = JsonGrammar.fromSchema(ToolChoiceSchemas.function(WEATHER), false, ValueAssertions.SKIP);

        assertTrue(g.matches("{\"city\": \"Paris\", \"days\": 3}"));
        assertTrue(g.matches("{\"city\": \"paris\", \"days\": 99}"), "minimum, maximum and pattern are not enforced");
        assertFalse(g.matches("{\"days\": 3}"), "city is required");
        assertFalse(g.matches("{\"city\": 3}"));
        assertTrue(JsonGrammar.fromSchema(ToolChoiceSchemas.function(PING), false, ValueAssertions.SKIP).matches("{\"any\": [1]}"));
    }

    @Test
    void refusingIsStillTheDefaultAndStructuralKeywordsAreRefusedEitherWay() {
        JsonSchemaException refused = assertThrows(JsonSchemaException.class,
                () -> JsonGrammar.fromSchema(ToolChoiceSchemas.function(WEATHER), false));
        assertTrue(refused.getMessage().contains("pattern") || refused.getMessage().contains("minimum"), refused.getMessage());

        ToolDefinition oneOf = new ToolDefinition("f", null, "{\"type\": \"object\", \"properties\": {\"a\": "
                + "{\"oneOf\": [{\"type\": \"string\"}, {\"type\": \"integer\"}], \"minimum\": 0}}}");
        JsonSchemaException structural = assertThrows(JsonSchemaException.class,
                () -> JsonGrammar.fromSchema(ToolChoiceSchemas.function(oneOf), false, ValueAssertions.SKIP));
        assertTrue(structural.getMessage().contains("/properties/a/oneOf"), structural.getMessage());
    }

    @Test
    void requiredIsAnArrayOfNamedCallsWithReferencesRebased() {
        JsonGrammar g = JsonGrammar.fromSchema(ToolChoiceSchemas.anyFunction(List.of(WEATHER, TREE, PING), true), false,
                ValueAssertions.SKIP);

        assertTrue(g.matches("[{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}, "
                + "{\"name\": \"plant\", \"parameters\": {\"root\": {\"kids\": [{\"kids\": []}]}}}, "
                + "{\"name\": \"ping\", \"parameters\": {}}]"));
        assertFalse(g.matches("[]"), "at least one call");
        assertFalse(g.matches("[{\"name\": \"get_time\", \"parameters\": {}}]"), "only the tools' names");
        assertFalse(g.matches("[{\"name\": \"plant\", \"parameters\": {\"root\": {\"kids\": [{}]}}}]"),
                "the recursive $ref still requires kids at every level");
        assertFalse(g.matches("[{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}, \"extra\": 1}]"));
    }

    @Test
    void withoutParallelCallsTheArrayHoldsOne() {
        JsonGrammar g = JsonGrammar.fromSchema(ToolChoiceSchemas.anyFunction(List.of(PING), false), false, ValueAssertions.SKIP);

        assertTrue(g.matches("[{\"name\": \"ping\", \"parameters\": {}}]"));
        assertFalse(g.matches("[{\"name\": \"ping\", \"parameters\": {}}, {\"name\": \"ping\", \"parameters\": {}}]"));
        assertEquals("a forced tool call needs at least one tool",
                assertThrows(IllegalArgumentException.class, () -> ToolChoiceSchemas.anyFunction(List.of(), true)).getMessage());
    }
}
