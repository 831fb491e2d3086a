package dev.finetune4j.data.record;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** OpenAI records with tools, tool calls and tool turns: their shape checks, neutral form and text values. */
class ToolRecordsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A weather lookup: the call's arguments as JSON text, the result as JSON text, then the answer. */
    static final String WEATHER = """
            {"messages": [
              {"role": "system", "content": "You help."},
              {"role": "user", "content": "Weather at home?"},
              {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\", \\"days\\": 2}"}}]},
              {"role": "tool", "tool_call_id": "call_1", "content": "{\\"celsius\\": 18, \\"sky\\": \\"clear\\"}"},
              {"role": "assistant", "content": "18 °C and clear."}],
             "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
               "required": ["city"]}}}]}""";

    static Map<String, Object> fields(String json) {
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = JSON.readValue(json, Map.class);
            return m;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aToolRecordIsValidOpenAiAndReadsAsTurnsWithCallsAndTools() {
        Map<String, Object> f = fields(WEATHER);
        assertEquals(Schema.OPENAI, Schema.detect(f).orElseThrow());
        assertTrue(Schema.OPENAI.validate(f).isEmpty(), () -> Schema.OPENAI.validate(f).orElseThrow());
        assertEquals(List.of(new Conversions.Turn("system", "You help."), new Conversions.Turn("user", "Weather at home?"),
                new Conversions.Turn("assistant", "", List.of(new Conversions.ToolCall("call_1", "get_weather",
                        "{\"city\": \"Paris\", \"days\": 2}")), null),
                new Conversions.Turn("tool", "{\"celsius\": 18, \"sky\": \"clear\"}", List.of(), "call_1"),
                new Conversions.Turn("assistant", "18 °C and clear.")), Conversions.toTurns(f));
        assertEquals(List.of(new Conversions.Tool("get_weather", "Weather in a city", "{\"type\":\"object\",\"properties\":"
                + "{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\"}},\"required\":[\"city\"]}")),
                Conversions.tools(f));
    }

    @Test
    void argumentsGivenAsAnObjectBecomeJsonText() {
        Map<String, Object> f = fields("""
                {"messages": [{"role": "user", "content": "Paris?"}, {"role": "assistant", "tool_calls": [
                  {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}]}""");
        assertEquals(new Conversions.Turn("assistant", "", List.of(new Conversions.ToolCall(null, "get_weather",
                "{\"city\":\"Paris\"}")), null), Conversions.toTurns(f).get(1));
        assertEquals(List.of(), Conversions.tools(f));
    }

    @Test
    void shapeErrorsNameThePath() {
        assertShapeError("{\"messages\": [{\"role\": \"assistant\", \"content\": null}]}",
                "messages[0].content must be a string, found null/absent");
        assertShapeError("{\"messages\": [{\"role\": \"assistant\", \"tool_calls\": [{\"function\": {\"name\": 3}}]}]}",
                "messages[0].tool_calls[0].function.name must be a non-empty string, found number");
        assertShapeError("{\"messages\": [{\"role\": \"assistant\", \"tool_calls\": [{\"type\": \"code\", \"function\": {}}]}]}",
                "messages[0].tool_calls[0].type must be \"function\", found \"code\"");
        assertShapeError("{\"messages\": [{\"role\": \"assistant\", \"tool_calls\": [{\"function\": {\"name\": \"f\", "
                + "\"arguments\": [1]}}]}]}", "messages[0].tool_calls[0].function.arguments must be JSON text or an object");
        assertShapeError("{\"messages\": [{\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": {}}]}",
                "messages[0].tool_calls must be an array of calls, found object");
        assertShapeError("{\"messages\": [{\"role\": \"tool\", \"content\": \"x\", \"tool_call_id\": 7}]}",
                "messages[0].tool_call_id must be a string, found number");
        assertShapeError("{\"messages\": [], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", "
                + "\"parameters\": \"{}\"}}]}", "tools[0].function.parameters must be a JSON Schema object, found string");
        assertShapeError("{\"messages\": [], \"tools\": {}}", "field 'tools' must be an array");
    }

    @Test
    void rolesThatCannotCarryToolPartsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Conversions.toTurns(fields(
                "{\"messages\": [{\"role\": \"user\", \"content\": \"\", \"tool_calls\": [{\"function\": {\"name\": \"f\"}}]}]}")));
        assertEquals("turn 0 is a user turn with tool_calls; only assistant turns call tools", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Conversions.toTurns(fields(
                "{\"messages\": [{\"role\": \"user\", \"content\": \"x\", \"tool_call_id\": \"c\"}]}")));
        assertEquals("turn 0 is a user turn with a tool_call_id; only tool turns answer calls", e.getMessage());
    }

    @Test
    void convertingAToolRecordToAShapeWithoutToolsIsRefusedNotDropped() {
        Record r = Record.of(new SourceRef("t.jsonl", 3), fields(WEATHER));
        for (Schema target : List.of(Schema.ALPACA, Schema.TEXT)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Conversions.convert(r, target));
            assertEquals("cannot convert record t.jsonl:3 to " + target + ": it has tools, tool calls or tool results, "
                    + "which " + target + " cannot hold; keep it as OPENAI (messages with tool_calls and tool turns, "
                    + "tools beside them) or SHAREGPT (function_call and observation turns, tools beside them)",
                    e.getMessage());
        }
        assertSame(r, Conversions.convert(r, Schema.OPENAI));
    }

    @Test
    void textsReadFunctionNamesAndJsonValuesNotIdsSyntaxOrToolSchemas() {
        Record r = Record.of(new SourceRef("t.jsonl", 1), fields(WEATHER));
        assertEquals(List.of("You help.", "Weather at home?", "get_weather", "city", "Paris", "days", "2",
                "celsius", "18", "sky", "clear", "18 °C and clear."), r.texts());
    }

    /**
     * An augmentation rewrites prose only: a call whose arguments changed would no longer answer the question, and
     * no step may touch the tools' schemas ({@code "type": "string"} rewritten is no schema).
     */
    @Test
    void proseLeavesCallsResultsAndToolSchemasAsTheyAre() {
        Record r = Record.of(new SourceRef("t.jsonl", 1), fields(WEATHER));
        Record upper = r.mapProse(s -> s.toUpperCase(java.util.Locale.ROOT));
        List<?> messages = (List<?>) upper.fields().get("messages");
        List<?> before = (List<?>) r.fields().get("messages");
        assertEquals("WEATHER AT HOME?", ((Map<?, ?>) messages.get(1)).get("content"));
        assertEquals(before.get(2), messages.get(2), "the call");
        assertEquals(before.get(3), messages.get(3), "the tool's result");
        assertEquals("18 °C AND CLEAR.", ((Map<?, ?>) messages.get(4)).get("content"));
        assertEquals(r.fields().get("tools"), upper.fields().get("tools"));
        assertEquals(r.fields().get("tools"), r.mapTexts(s -> s.toUpperCase(java.util.Locale.ROOT)).fields().get("tools"));
    }

    @Test
    void rewritingTextsKeepsToolJsonValidAndIdsAndNamesAsTheyAre() {
        Record r = Record.of(new SourceRef("t.jsonl", 1), fields(WEATHER));
        Record upper = r.mapTexts(s -> s.toUpperCase(java.util.Locale.ROOT));
        List<?> messages = (List<?>) upper.fields().get("messages");
        Map<?, ?> call = (Map<?, ?>) ((List<?>) ((Map<?, ?>) messages.get(2)).get("tool_calls")).getFirst();
        assertEquals("call_1", call.get("id"));
        assertEquals(Map.of("name", "get_weather", "arguments", "{\"city\": \"PARIS\", \"days\": 2}"), call.get("function"));
        assertEquals("{\"celsius\": 18, \"sky\": \"CLEAR\"}", ((Map<?, ?>) messages.get(3)).get("content"));
        assertEquals("call_1", ((Map<?, ?>) messages.get(3)).get("tool_call_id"));
        assertEquals("18 °C AND CLEAR.", ((Map<?, ?>) messages.get(4)).get("content"));
    }

    @Test
    void jsonTextRewritesValuesInPlaceAndNumbersItChangesBecomeStrings() {
        String pretty = "{\n  \"note\": \"say \\\"hi\\\"\",\n  \"n\": [1, 2.5e3],\n  \"k\": {\"x\": \"y\"}\n}";
        assertEquals(List.of("note", "say \"hi\"", "n", "1", "2.5e3", "k", "x", "y"), JsonText.words(pretty));
        assertEquals(pretty, JsonText.mapValues(pretty, s -> s), "untouched values keep their spelling and escapes");
        assertEquals("{\n  \"note\": \"SAY \\\"HI\\\"\",\n  \"n\": [1, \"#\"],\n  \"k\": {\"x\": \"Y\"}\n}",
                JsonText.mapValues(pretty, s -> s.equals("2.5e3") ? "#" : s.toUpperCase(java.util.Locale.ROOT)));
        assertEquals("[\"a\\nb\\u0001\"]", JsonText.mapValues("[\"x\"]", s -> "a\nb\u0001"));
        for (String notJson : List.of("Paris", "18", "\"quoted\"", "{\"city\": \"Par", "{} {}", "{} trailing", "")) {
            assertNull(JsonText.mapValues(notJson, s -> s), notJson);
            assertNull(JsonText.words(notJson), notJson);
        }
    }

    private static void assertShapeError(String json, String expected) {
        String error = Schema.OPENAI.validate(fields(json)).orElseThrow(() -> new AssertionError("accepted " + json));
        assertTrue(error.startsWith(expected), error);
    }
}
