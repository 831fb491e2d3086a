package dev.finetune4j.core.generate.json;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonResponseFormatTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void readsTheThreeOpenAiFormats() throws Exception {
        assertTrue(JsonResponseFormat.grammar(null).isEmpty());
        assertTrue(JsonResponseFormat.grammar(JSON.readTree("{\"type\": \"text\"}")).isEmpty());
        assertTrue(JsonResponseFormat.grammar(JSON.readTree("{\"type\": \"json_object\"}")).orElseThrow().matches("{\"a\": [1]}"));
        JsonGrammar g = JsonResponseFormat.grammar(JSON.readTree("""
                {"type": "json_schema", "json_schema": {"name": "city", "strict": true, "schema": {
                  "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
                  "additionalProperties": false}}}""")).orElseThrow();
        assertTrue(g.matches("{\"name\": \"Oslo\"}"));
        assertFalse(g.matches("{}"));
    }

    @Test
    void errorsPointIntoTheResponseFormat() throws Exception {
        JsonSchemaException e = assertThrows(JsonSchemaException.class, () -> JsonResponseFormat.grammar(JSON.readTree("""
                {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "format": "email"}}}""")));
        assertEquals("/json_schema/schema/format", e.pointer());
        assertEquals(1, e.getMessage().split("JSON schema at", -1).length - 1, e.getMessage());
        assertEquals("/type", assertThrows(JsonSchemaException.class,
                () -> JsonResponseFormat.grammar(JSON.readTree("{\"type\": \"xml\"}"))).pointer());
        assertEquals("/json_schema/name", assertThrows(JsonSchemaException.class,
                () -> JsonResponseFormat.grammar(JSON.readTree("{\"type\": \"json_schema\", \"json_schema\": {\"schema\": {}}}"))).pointer());
    }
}
