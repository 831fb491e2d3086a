package dev.finetune4j.core.generate.json;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Schema compile errors name the pointer of what is refused; hostile schemas are refused or bounded, never hang. */
class JsonSchemaCompileTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonSchemaException refused(String schema, boolean strict, String pointer, String... phrases) {
        JsonSchemaException e = assertThrows(JsonSchemaException.class, () -> JsonGrammar.fromSchema(schema, strict));
        assertEquals(pointer, e.pointer(), e.getMessage());
        for (String phrase : phrases) {
            assertTrue(e.getMessage().contains(phrase), "'" + phrase + "' missing from: " + e.getMessage());
        }
        return e;
    }

    @Test
    void unsupportedKeywordsAreNamedWithTheirPointer() {
        refused("{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\", \"pattern\": \"^a\"}}}", false,
                "/properties/name/pattern", "'pattern' is not supported", "supported keywords are");
        refused("{\"type\": \"array\", \"items\": {\"type\": \"string\", \"format\": \"date\"}}", false, "/items/format", "'format'");
        refused("{\"oneOf\": [{\"type\": \"string\"}]}", false, "/oneOf", "'oneOf'");
        refused("{\"type\": \"integer\", \"minimum\": 3}", false, "/minimum", "'minimum'");
        refused("{\"type\": \"object\", \"properties\": {\"a/b~c\": {\"type\": \"string\", \"pattern\": \"x\"}}}", false,
                "/properties/a~1b~0c/pattern");
        refused("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\"}}, \"minProperties\": 1}", false, "/minProperties");
    }

    @Test
    void malformedOrContradictorySchemasAreNamed() {
        refused("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\"}}, \"required\": [\"b\"]}", false,
                "/required/0", "'b' is required but not in properties");
        refused("{\"enum\": [1, {\"a\": 1}]}", false, "/enum/1", "objects and arrays are not supported");
        refused("{\"type\": \"string\", \"enum\": [\"a\", 2]}", false, "/enum/1", "not of the schema's type");
        refused("{\"type\": \"strin\"}", false, "/type", "not one of");
        refused("{\"type\": \"string\", \"minLength\": 5, \"maxLength\": 2}", false, "/maxLength", "below minLength");
        refused("{\"type\": \"array\", \"items\": [{\"type\": \"string\"}]}", false, "/items", "tuple");
        refused("{\"type\": \"object\", \"properties\": {\"a\": {}}, \"additionalProperties\": true}", false,
                "/additionalProperties", "only on objects without properties");
        refused("{\"$ref\": \"other.json#/x\"}", false, "/$ref", "not a local reference");
        refused("{\"$ref\": \"#/$defs/missing\"}", false, "/$ref", "points at nothing");
        refused("{\"type\": \"string\", \"anyOf\": [{\"type\": \"string\"}]}", false, "/type", "next to 'anyOf'");
        refused("{\"type\": \"object\", \"properties\": {\"a\": false}}", false, "/properties/a", "allows no value");
        refused("{\"type\": ", false, "", "not valid JSON");
    }

    @Test
    void strictModeNeedsClosedObjectsWithEveryPropertyRequired() {
        refused("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}", true,
                "", "additionalProperties\": false");
        refused("""
                {"type": "object", "properties": {"a": {"type": "object", "properties": {"x": {"type": "string"}},
                   "additionalProperties": false}}, "required": ["a"], "additionalProperties": false}""", true,
                "/properties/a/required", "every property in required");
        JsonGrammar.fromSchema("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}", false);
    }

    @Test
    void annotationsAreIgnoredAndSchemaShorthandsWork() {
        JsonGrammar g = JsonGrammar.fromSchema("""
                {"title": "T", "description": "d", "$schema": "https://json-schema.org/draft/2020-12/schema",
                 "properties": {"a": {"description": "x", "default": 1, "examples": [1], "type": "integer"}},
                 "required": ["a"], "additionalProperties": false}""", true);
        assertTrue(g.matches("{\"a\": 1}"));
        assertTrue(JsonGrammar.fromSchema("{\"type\": \"object\"}", false).matches("{\"any\": [1, {\"b\": null}]}"));
        assertTrue(JsonGrammar.fromSchema("{}", false).matches("[\"any value\"]"));
        assertTrue(JsonGrammar.fromSchema("{\"const\": \"日本\"}", false).matches("\"日本\""));
        assertTrue(JsonGrammar.fromSchema("{\"definitions\": {\"s\": {\"type\": \"string\"}}, \"$ref\": \"#/definitions/s\"}", false).matches("\"x\""));
    }

    @Test
    void aHugeSchemaIsRefusedByItsSizeAndAHugeDescriptionIsFine() throws Exception {
        StringBuilder sb = new StringBuilder("{\"type\": \"object\", \"properties\": {");
        for (int i = 0; sb.length() < 1_000_000; i++) {
            sb.append(i == 0 ? "" : ",").append("\"p").append(i).append("\": {\"type\": \"string\"}");
        }
        String big = sb.append("}}").toString();
        refused(big, false, "/properties/p" + SchemaCompiler.MAX_NODES, "more than " + SchemaCompiler.MAX_NODES);
        StringBuilder en = new StringBuilder("{\"enum\": [");
        for (int i = 0; en.length() < 1_000_000; i++) {
            en.append(i == 0 ? "" : ",").append('"').append(i).append('"');
        }
        refused(en.append("]}").toString(), false, "/enum/" + SchemaCompiler.MAX_NODES, "more than");
        String description = "x".repeat(1_000_000);
        JsonGrammar g = JsonGrammar.fromSchema("{\"type\": \"string\", \"description\": \"" + description + "\"}", false);
        assertTrue(g.matches("\"ok\""));
    }

    @Test
    void deeplyNestedSchemasAreRefusedWithoutAStackOverflow() {
        String text = "{\"items\": ".repeat(100_000) + "{}" + "}".repeat(100_000);
        JsonSchemaException parse = assertThrows(JsonSchemaException.class, () -> JsonGrammar.fromSchema(text, false));
        assertEquals("", parse.pointer());
        ObjectNode root = JSON.createObjectNode();
        ObjectNode at = root;
        for (int i = 0; i < 5000; i++) {
            at = at.putObject("items");
        }
        JsonSchemaException e = assertThrows(JsonSchemaException.class, () -> JsonGrammar.fromSchema(root, false));
        assertEquals("/items".repeat(SchemaCompiler.MAX_NESTING + 1), e.pointer());
        assertTrue(e.getMessage().contains("nest more than " + SchemaCompiler.MAX_NESTING));
    }

    @Test
    void requiredNestingPastTheDepthLimitIsRefused() {
        String deep = "{\"type\": \"array\", \"minItems\": 1, \"items\": ".repeat(40) + "{\"type\": \"string\"}" + "}".repeat(40);
        refused(deep, false, "", "nests 40 objects and arrays deep", "depth limit of 32");
        assertTrue(JsonGrammar.fromSchema(deep.replace("\"minItems\": 1, ", ""), false).matches("[]"),
                "optional nesting is bounded at run time instead");
    }

    @Test
    void refCyclesAreRefusedOrBounded() {
        refused("{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": {\"$ref\": \"#/$defs/a\"}}, \"$ref\": \"#/$defs/a\"}", false,
                "/$defs/b", "cycle");
        refused("{\"anyOf\": [{\"$ref\": \"#\"}, {\"type\": \"string\"}]}", false, "", "cycle");
        refused("{\"type\": \"object\", \"properties\": {\"self\": {\"$ref\": \"#\"}}, \"required\": [\"self\"]}", false,
                "", "recurses through required properties or array items forever");
        StringBuilder chain = new StringBuilder("{\"$defs\": {");
        for (int i = 0; i < 1000; i++) {
            chain.append(i == 0 ? "" : ",").append("\"d").append(i).append("\": {\"$ref\": \"#/$defs/d").append(i + 1).append("\"}");
        }
        chain.append(", \"d1000\": {\"type\": \"string\"}}, \"$ref\": \"#/$defs/d0\"}");
        JsonSchemaException e = assertThrows(JsonSchemaException.class, () -> JsonGrammar.fromSchema(chain.toString(), false));
        assertTrue(e.getMessage().contains("nest more than"), e.getMessage());
        JsonGrammar list = JsonGrammar.fromSchema("""
                {"type": "object", "properties": {"next": {"$ref": "#"}, "v": {"type": "integer"}}, "required": ["v"]}""", false, 8);
        assertTrue(list.matches("{\"next\": {\"next\": {\"v\": 1}, \"v\": 2}, \"v\": 3}"));
        String nine = "{\"next\": ".repeat(8) + "{\"v\": 1}" + ", \"v\": 1}".repeat(8);
        assertFalse(list.matches(nine), "9 nested objects are past the limit of 8");
        assertTrue(list.matches("{\"next\": ".repeat(7) + "{\"v\": 1}" + ", \"v\": 1}".repeat(7)));
    }

    @Test
    void hostileOutputIsRefusedAtTheDepthLimitWithoutAStackOverflow() {
        JsonGrammar any = JsonGrammar.anyObject();
        byte[] deep = ("{\"a\": " + "[".repeat(100_000)).getBytes(StandardCharsets.UTF_8);
        assertNull(JsonState.start(any).advance(deep));
        assertFalse(any.matches("{\"a\": " + "[".repeat(40) + "]".repeat(40) + "}"));
        assertThrows(IllegalArgumentException.class, () -> JsonGrammar.anyObject(0));
        assertThrows(IllegalArgumentException.class, () -> JsonGrammar.anyObject(5000));
    }

    @Test
    void ambiguousAnyOfKeepsABoundedNumberOfReadings() {
        JsonGrammar g = JsonGrammar.fromSchema("""
                {"$defs": {"x": {"anyOf": [{"type": "array", "items": {"$ref": "#/$defs/x"}},
                                           {"type": "array", "items": {"$ref": "#/$defs/x"}, "maxItems": 5}]}},
                 "$ref": "#/$defs/x"}""", false);
        JsonState s = JsonState.start(g).advance("[".repeat(30).getBytes(StandardCharsets.UTF_8));
        assertTrue(s != null && s.readings() <= JsonState.MAX_READINGS, "readings: " + (s == null ? 0 : s.readings()));
        assertTrue(g.matches("[".repeat(30) + "]".repeat(30)));
    }
}
