package dev.finetune4j.data.record;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.data.record.Conversions.ToolCall;
import dev.finetune4j.data.record.Conversions.Turn;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Locale;
import java.util.Map;

import static dev.finetune4j.data.record.ToolRecordsTest.fields;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ShareGPT records with tool turns as LLaMA-Factory's sharegpt format writes them (function_call and observation
 * turns, {@code tools} as JSON text of bare functions, as in glaive-function-calling): their checks, neutral form,
 * conversion to OpenAI and back, and text values.
 */
class ShareGptToolRecordsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A glaive-style record: {@code tools} a string, each value in Python's json.dumps layout. */
    static final String GLAIVE = """
            {"conversations": [
              {"from": "human", "value": "Weather in Paris?"},
              {"from": "function_call", "value": "{\\"name\\": \\"get_weather\\", \\"arguments\\": {\\"city\\": \\"Paris\\", \\"days\\": 2}}"},
              {"from": "observation", "value": "{\\"celsius\\": 18, \\"sky\\": \\"clear\\"}"},
              {"from": "gpt", "value": "18 °C and clear."}],
             "tools": "[{\\"name\\": \\"get_weather\\", \\"description\\": \\"Weather in a city\\", \\"parameters\\": {\\"type\\": \\"object\\", \\"properties\\": {\\"city\\": {\\"type\\": \\"string\\"}, \\"days\\": {\\"type\\": \\"integer\\"}}, \\"required\\": [\\"city\\"]}}]"}""";

    /** {@link #GLAIVE} in OpenAI's shape, as the conversion writes it (by hand). */
    static final String GLAIVE_AS_OPENAI = """
            {"messages": [
              {"role": "user", "content": "Weather in Paris?"},
              {"role": "assistant", "content": "", "tool_calls": [{"id": "call_0", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\", \\"days\\": 2}"}}]},
              {"role": "tool", "content": "{\\"celsius\\": 18, \\"sky\\": \\"clear\\"}", "tool_call_id": "call_0"},
              {"role": "assistant", "content": "18 °C and clear."}],
             "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
               "required": ["city"]}}}]}""";

    @Test
    void aGlaiveRecordIsValidAndReadsAsAssistantCallsAndToolResults() {
        Map<String, Object> f = fields(GLAIVE);
        assertEquals(Schema.SHAREGPT, Schema.detect(f).orElseThrow());
        assertTrue(Schema.SHAREGPT.validate(f).isEmpty(), () -> Schema.SHAREGPT.validate(f).orElseThrow());
        assertEquals(List.of(new Turn("user", "Weather in Paris?"),
                new Turn("assistant", "", List.of(new ToolCall("call_0", "get_weather",
                        "{\"city\": \"Paris\", \"days\": 2}")), null),
                new Turn("tool", "{\"celsius\": 18, \"sky\": \"clear\"}", List.of(), "call_0"),
                new Turn("assistant", "18 °C and clear.")), Conversions.toTurns(f));
        assertEquals(List.of(new Conversions.Tool("get_weather", "Weather in a city", "{\"type\":\"object\",\"properties\":"
                + "{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\"}},\"required\":[\"city\"]}")),
                Conversions.tools(f));
        assertEquals(Conversions.toTurns(f), Conversions.toTurns(fields(GLAIVE_AS_OPENAI)), "same turns as OpenAI");
        assertEquals(Conversions.tools(f), Conversions.tools(fields(GLAIVE_AS_OPENAI)), "same tools as OpenAI");
    }

    /** Tools as an array, wrapped as OpenAI writes them or bare, read the same as JSON text of bare functions. */
    @Test
    void toolsMayBeAnArrayOfWrappedOrBareFunctions() {
        List<Conversions.Tool> expected = List.of(new Conversions.Tool("f", "does f", "{\"type\":\"object\"}"),
                new Conversions.Tool("g", null, null));
        for (String tools : List.of(
                "\"[{\\\"name\\\": \\\"f\\\", \\\"description\\\": \\\"does f\\\", \\\"parameters\\\": {\\\"type\\\": "
                        + "\\\"object\\\"}}, {\\\"name\\\": \\\"g\\\"}]\"",
                "[{\"name\": \"f\", \"description\": \"does f\", \"parameters\": {\"type\": \"object\"}}, {\"name\": \"g\"}]",
                "[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"does f\", \"parameters\": "
                        + "{\"type\": \"object\"}}}, {\"function\": {\"name\": \"g\"}}]")) {
            Map<String, Object> f = fields("{\"conversations\": [{\"from\": \"human\", \"value\": \"x\"}], \"tools\": "
                    + tools + "}");
            assertTrue(Schema.SHAREGPT.validate(f).isEmpty(), tools);
            assertEquals(expected, Conversions.tools(f), tools);
        }
        for (String none : List.of("\"\"", "\"[]\"", "null", "[]")) {
            assertEquals(List.of(), Conversions.tools(fields("{\"conversations\": [], \"tools\": " + none + "}")), none);
        }
    }

    /**
     * Parallel calls (a JSON array) are answered by one observation each, in order, which then carry the calls' ids,
     * or by one observation for all, which carries none; a gpt turn right before a function_call is its text.
     */
    @Test
    void parallelCallsLinkTheirObservationsByPosition() {
        String calls = "[{\\\"name\\\": \\\"get_weather\\\", \\\"arguments\\\": {\\\"city\\\": \\\"Paris\\\"}}, "
                + "{\\\"name\\\": \\\"get_weather\\\", \\\"arguments\\\": {\\\"city\\\": \\\"Lyon\\\"}, \\\"id\\\": \\\"w2\\\"}]";
        List<ToolCall> expectedCalls = List.of(new ToolCall("call_0", "get_weather", "{\"city\": \"Paris\"}"),
                new ToolCall("w2", "get_weather", "{\"city\": \"Lyon\"}"));
        Map<String, Object> each = fields("{\"conversations\": [{\"from\": \"human\", \"value\": \"Paris and Lyon?\"}, "
                + "{\"from\": \"gpt\", \"value\": \"Checking both.\"}, {\"from\": \"function_call\", \"value\": \"" + calls
                + "\"}, {\"from\": \"observation\", \"value\": \"18\"}, {\"from\": \"observation\", \"value\": \"21\"}]}");
        assertEquals(List.of(new Turn("user", "Paris and Lyon?"), new Turn("assistant", "Checking both.", expectedCalls, null),
                new Turn("tool", "18", List.of(), "call_0"), new Turn("tool", "21", List.of(), "w2")),
                Conversions.toTurns(each));
        Map<String, Object> one = fields("{\"conversations\": [{\"from\": \"human\", \"value\": \"Paris and Lyon?\"}, "
                + "{\"from\": \"function_call\", \"value\": \"" + calls + "\"}, {\"from\": \"observation\", "
                + "\"value\": \"[18, 21]\"}, {\"from\": \"gpt\", \"value\": \"18 and 21.\"}]}");
        assertEquals(List.of(new Turn("user", "Paris and Lyon?"), new Turn("assistant", "", expectedCalls, null),
                new Turn("tool", "[18, 21]", List.of(), null), new Turn("assistant", "18 and 21.")),
                Conversions.toTurns(one));
    }

    /** ShareGPT to OpenAI and back gives the record as written: ids generated and dropped again, layout kept. */
    @Test
    void glaiveToOpenAiAndBackIsTheSameRecord() throws Exception {
        Record sharegpt = Record.of(new SourceRef("g.jsonl", 1), fields(GLAIVE));
        Record openai = Conversions.convert(sharegpt, Schema.OPENAI);
        assertEquals(fields(GLAIVE_AS_OPENAI), openai.fields());
        assertEquals(JSON.writeValueAsString(fields(GLAIVE)),
                JSON.writeValueAsString(Conversions.convert(openai, Schema.SHAREGPT).fields()), "keys in order, text exact");

        Map<String, Object> oneForAll = fields("{\"conversations\": [{\"from\": \"human\", \"value\": \"Both?\"}, "
                + "{\"from\": \"function_call\", \"value\": \"[{\\\"name\\\": \\\"a\\\", \\\"arguments\\\": {}}, "
                + "{\\\"name\\\": \\\"b\\\", \\\"arguments\\\": \\\"raw\\\"}]\"}, {\"from\": \"observation\", "
                + "\"value\": \"both done\"}, {\"from\": \"gpt\", \"value\": \"Done.\"}]}");
        Record back = Conversions.convert(Conversions.convert(Record.of(new SourceRef("g.jsonl", 2), oneForAll),
                Schema.OPENAI), Schema.SHAREGPT);
        assertEquals(JSON.writeValueAsString(oneForAll), JSON.writeValueAsString(back.fields()));
    }

    /**
     * OpenAI to ShareGPT and back gives the record written: ids other than the generated ones ride in the call's
     * JSON, text beside calls becomes a gpt turn, arguments that are not a JSON object a JSON string.
     */
    @Test
    void openAiToShareGptAndBackIsTheSameRecord() throws Exception {
        String openaiJson = """
                {"messages": [
                  {"role": "system", "content": "You help."},
                  {"role": "user", "content": "Paris and Lyon?"},
                  {"role": "assistant", "content": "Checking both.", "tool_calls": [
                    {"id": "w1", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\":\\"Paris\\"}"}},
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "Lyon"}}]},
                  {"role": "tool", "content": "18", "tool_call_id": "w1"},
                  {"role": "tool", "content": "21", "tool_call_id": "call_1"},
                  {"role": "assistant", "content": "Paris 18, Lyon 21."}],
                 "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]}""";
        Record openai = Record.of(new SourceRef("o.jsonl", 1), fields(openaiJson));
        Record sharegpt = Conversions.convert(openai, Schema.SHAREGPT);
        assertEquals(fields("""
                {"conversations": [
                  {"from": "system", "value": "You help."},
                  {"from": "human", "value": "Paris and Lyon?"},
                  {"from": "gpt", "value": "Checking both."},
                  {"from": "function_call", "value": "[{\\"name\\": \\"get_weather\\", \\"arguments\\": {\\"city\\":\\"Paris\\"}, \\"id\\": \\"w1\\"}, {\\"name\\": \\"get_weather\\", \\"arguments\\": \\"Lyon\\"}]"},
                  {"from": "observation", "value": "18"},
                  {"from": "observation", "value": "21"},
                  {"from": "gpt", "value": "Paris 18, Lyon 21."}],
                 "tools": "[{\\"name\\": \\"get_weather\\", \\"parameters\\": {\\"type\\": \\"object\\"}}]"}"""),
                sharegpt.fields());
        assertTrue(Schema.SHAREGPT.validate(sharegpt.fields()).isEmpty());
        assertEquals(JSON.writeValueAsString(openai.fields()),
                JSON.writeValueAsString(Conversions.convert(sharegpt, Schema.OPENAI).fields()));
    }

    @Test
    void resultsThatPositionCannotLinkAreRefusedNotScrambled() {
        Record outOfOrder = Record.of(new SourceRef("o.jsonl", 7), fields("""
                {"messages": [{"role": "user", "content": "Both?"}, {"role": "assistant", "content": "", "tool_calls": [
                  {"id": "a", "function": {"name": "f", "arguments": "{}"}},
                  {"id": "b", "function": {"name": "f", "arguments": "{}"}}]},
                 {"role": "tool", "content": "B", "tool_call_id": "b"}, {"role": "tool", "content": "A", "tool_call_id": "a"}]}"""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Conversions.convert(outOfOrder, Schema.SHAREGPT));
        assertEquals("cannot convert record o.jsonl:7 to SHAREGPT: turn 2 (a tool result answering 'b') cannot be linked "
                + "by position, which is how ShareGPT links results: the 2 call(s) of turn 1 need one result each, in the "
                + "calls' order, or one result without tool_call_id for all", e.getMessage());
        Record stray = Record.of(new SourceRef("o.jsonl", 8), fields(
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Q\"}, {\"role\": \"tool\", \"content\": \"R\"}]}"));
        e = assertThrows(IllegalArgumentException.class, () -> Conversions.convert(stray, Schema.SHAREGPT));
        assertEquals("cannot convert record o.jsonl:8 to SHAREGPT: turn 1 is a tool result with no tool call right "
                + "before it, which ShareGPT cannot hold: it links an observation to the function_call before it",
                e.getMessage());
    }

    @Test
    void badToolTurnsAndToolsAreNamedByTheirPlace() {
        String fix = "; write it as JSON text of {\"name\": ..., \"arguments\": {...}} or of an array of such calls";
        String at = "conversations[1].value (function_call) ";
        assertBad(call("{\\\"arguments\\\": {}}"), at + "has no function name (a non-empty string under \"name\")" + fix);
        assertBad(call("{\\\"name\\\": \\\"f\\\", \\\"arguments\\\": 3}"),
                at + "has arguments that are neither an object nor JSON text" + fix);
        assertBad(call("[{\\\"name\\\": \\\"f\\\"}, \\\"g\\\"]"), at + "holds an array whose item 1 is not a call object" + fix);
        assertBad(call("[{\\\"name\\\": \\\"f\\\"}, {\\\"name\\\": \\\"\\\"}]"),
                at + "call 1 has no function name (a non-empty string under \"name\")" + fix);
        assertBad(call("[]"), at + "is an empty array of calls" + fix);
        assertBad(call("\\\"f\\\""), at + "is not JSON text of a call" + fix);
        assertBad(call("{\\\"name\\\": \\\"f\\\"} {}"), at + "has text after the call's JSON" + fix);
        String notJson = Schema.SHAREGPT.validate(fields(call("get_weather(Paris)"))).orElseThrow();
        assertTrue(notJson.startsWith(at + "is not JSON (Unrecognized token 'get_weather") && notJson.endsWith(fix), notJson);

        assertBad("{\"conversations\": [{\"from\": \"human\", \"value\": \"Q\"}, {\"from\": \"observation\", \"value\": \"R\"}]}",
                "conversations[1] is an observation (a tool's result) with no function_call before it; put it right after "
                        + "the function_call turn whose call it answers");
        assertBad("{\"conversations\": [{\"from\": \"human\", \"value\": \"Q\"}, {\"from\": \"function_call\", \"value\": "
                + "\"[{\\\"name\\\": \\\"f\\\"}, {\\\"name\\\": \\\"g\\\"}]\"}, {\"from\": \"observation\", \"value\": \"1\"}, "
                + "{\"from\": \"observation\", \"value\": \"2\"}, {\"from\": \"observation\", \"value\": \"3\"}]}",
                "conversations[2] starts 3 observations after a function_call of 2 call(s): answer parallel calls with one "
                        + "observation each, in order, or with one observation for all");

        String tools = "{\"conversations\": [], \"tools\": %s}";
        String notJsonTools = Schema.SHAREGPT.validate(fields(tools.formatted("\"get_weather\""))).orElseThrow();
        assertTrue(notJsonTools.startsWith("field 'tools' is text but not JSON (Unrecognized token 'get_weather'")
                && notJsonTools.endsWith("); write the array of functions itself or its JSON text"), notJsonTools);
        assertBad(tools.formatted("\"{\\\"name\\\": \\\"f\\\"}\""), "field 'tools' must be an array of functions "
                + "({\"type\": \"function\", \"function\": {...}} or {\"name\": ..., \"parameters\": {...}}) or JSON text "
                + "of one, found text of object");
        assertBad(tools.formatted("\"[{\\\"name\\\": \\\" \\\"}]\""), "tools[0].name must be a non-empty string, found a blank one");
        assertBad(tools.formatted("[{\"name\": \"f\", \"parameters\": \"{}\"}]"),
                "tools[0].parameters must be a JSON Schema object, found string");
        assertBad(tools.formatted("[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": 3}}]"),
                "tools[0].function.description must be a string, found number");
    }

    /** Dedup and the quality rules read a ShareGPT call as they read the same call of an OpenAI message. */
    @Test
    void textsReadTheCallsNameAndArgumentsAsOpenAiDoesNotItsKeysOrTools() {
        List<String> expected = List.of("Weather in Paris?", "get_weather", "city", "Paris", "days", "2", "celsius", "18",
                "sky", "clear", "18 °C and clear.");
        assertEquals(expected, Record.of(new SourceRef("g.jsonl", 1), fields(GLAIVE)).texts());
        List<String> openai = Record.of(new SourceRef("o.jsonl", 1), fields(GLAIVE_AS_OPENAI)).texts();
        assertEquals(expected, openai.stream().filter(s -> !s.isEmpty()).toList(), "OpenAI adds only the calls' empty text");
        Record parallel = Record.of(new SourceRef("g.jsonl", 2), fields(call(
                "[{\\\"id\\\": \\\"c9\\\", \\\"name\\\": \\\"f\\\", \\\"arguments\\\": \\\"{\\\\\\\"q\\\\\\\": \\\\\\\"x\\\\\\\"}\\\"}, "
                        + "{\\\"name\\\": \\\"g\\\"}]")));
        assertEquals(List.of("Q", "f", "q", "x", "g"), parallel.texts(), "arguments given as JSON text read inside");
    }

    /**
     * Rewriting keeps a call a call: its name and id as they are, its arguments rewritten value by value (inside
     * arguments given as JSON text too), the JSON valid; {@code tools} as text never touched; prose leaves calls and
     * results alone.
     */
    @Test
    void rewritingKeepsCallNamesIdsAndToolsAndProseLeavesCallsAlone() throws Exception {
        Record r = Record.of(new SourceRef("g.jsonl", 1), fields(GLAIVE));
        Record upper = r.mapTexts(s -> s.toUpperCase(Locale.ROOT));
        List<?> turns = (List<?>) upper.fields().get("conversations");
        String call = (String) ((Map<?, ?>) turns.get(1)).get("value");
        assertEquals("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"PARIS\", \"days\": 2}}", call);
        assertEquals("PARIS", JSON.readTree(call).get("arguments").get("city").textValue());
        assertEquals("{\"celsius\": 18, \"sky\": \"CLEAR\"}", ((Map<?, ?>) turns.get(2)).get("value"));
        assertEquals("function_call", ((Map<?, ?>) turns.get(1)).get("from"));
        assertEquals(r.fields().get("tools"), upper.fields().get("tools"));

        Record parallel = Record.of(new SourceRef("g.jsonl", 2), fields(call(
                "[{\\\"id\\\": \\\"c9\\\", \\\"name\\\": \\\"f\\\", \\\"arguments\\\": \\\"{\\\\\\\"q\\\\\\\": \\\\\\\"x\\\\\\\"}\\\"}, "
                        + "{\\\"name\\\": \\\"g\\\", \\\"arguments\\\": {\\\"name\\\": \\\"y\\\"}}]")));
        assertEquals("[{\"id\": \"c9\", \"name\": \"f\", \"arguments\": \"{\\\"q\\\": \\\"X\\\"}\"}, {\"name\": \"g\", "
                + "\"arguments\": {\"name\": \"Y\"}}]", ((Map<?, ?>) ((List<?>) parallel.mapTexts(
                s -> s.toUpperCase(Locale.ROOT)).fields().get("conversations")).get(1)).get("value"),
                "a name inside the arguments is the caller's data");

        Record prose = r.mapProse(s -> s.toUpperCase(Locale.ROOT));
        List<?> proseTurns = (List<?>) prose.fields().get("conversations");
        List<?> before = (List<?>) r.fields().get("conversations");
        assertEquals("WEATHER IN PARIS?", ((Map<?, ?>) proseTurns.get(0)).get("value"));
        assertEquals(before.subList(1, 3), proseTurns.subList(1, 3), "the call and the result");
        assertEquals(r.fields().get("tools"), prose.fields().get("tools"));
    }

    /** A conversation of a question (turn 0) and one function_call turn whose value is {@code value} (JSON-escaped). */
    private static String call(String value) {
        return "{\"conversations\": [{\"from\": \"human\", \"value\": \"Q\"}, {\"from\": \"function_call\", \"value\": \""
                + value + "\"}]}";
    }

    private static void assertBad(String json, String expected) {
        assertEquals(expected, Schema.SHAREGPT.validate(fields(json)).orElseThrow(() -> new AssertionError("accepted " + json)));
    }
}
