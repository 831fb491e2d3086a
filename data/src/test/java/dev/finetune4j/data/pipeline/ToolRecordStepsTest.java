package dev.finetune4j.data.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.data.clean.QualityConfig;
import dev.finetune4j.data.clean.QualityFilter;
import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.format.Parsed;
import dev.finetune4j.data.format.ReadOptions;
import dev.finetune4j.data.pii.PiiRedactor;
import dev.finetune4j.data.pii.PiiStep;
import dev.finetune4j.data.record.ConvertStep;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.record.Schema;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * Each prepare step on records with tool calls and tool results, OpenAI's and ShareGPT's: customer data in call
 * arguments and results is redacted and cleaned value by value (the JSON stays valid, keys and layout kept; function
 * names and the tools never touched), and dedup and quality rules read function names, arguments and results.
 */
class ToolRecordStepsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A record of one call with {@code arguments} (JSON text, written into the JSON line escaped) and {@code result}. */
    private static Record call(String function, String arguments, String result) {
        String line = """
                {"messages": [{"role": "user", "content": "Look up my account."},
                 {"role": "assistant", "content": "", "tool_calls": [{"id": "call_7", "type": "function",
                   "function": {"name": "%s", "arguments": %s}}]},
                 {"role": "tool", "tool_call_id": "call_7", "content": %s},
                 {"role": "assistant", "content": "Done."}]}""".formatted(function, quote(arguments), quote(result));
        Parsed parsed = Formats.parseObject(line, "calls.jsonl", 1, ReadOptions.DEFAULTS);
        return assertInstanceOf(Parsed.Ok.class, parsed, () -> parsed.toString()).record();
    }

    @Test
    void piiIsRedactedInsideArgumentsAndResultsAndTheJsonStaysValid() throws Exception {
        Record r = call("find_account", "{\"email\": \"zhang.san@example.com\", \"phone\": 13812345678}",
                "{\"owner\": \"Zhang\", \"card\": \"4111 1111 1111 1111\", \"note\": \"call +1 415 555 2671\"}");
        Outcome o = new PiiStep(PiiRedactor.defaults()).apply(r);
        assertEquals(Outcome.Kind.CHANGED, o.kind());
        assertEquals("{\"email\": \"[EMAIL]\", \"phone\": \"[PHONE]\"}", arguments(o.record()));
        assertEquals("{\"owner\": \"Zhang\", \"card\": \"[BANK_CARD]\", \"note\": \"call [PHONE]\"}", result(o.record()));
        assertEquals(Map.of("EMAIL", 1, "PHONE", 2, "BANK_CARD", 1), o.tallies());
        assertEquals("[PHONE]", JSON.readTree(arguments(o.record())).get("phone").textValue(), "still JSON");
        assertEquals("find_account", function(o.record()).get("name"), "the function's name is not text to redact");
        assertEquals("call_7", toolTurn(o.record()).get("tool_call_id"));
    }

    /** Arguments given as an object (many Hugging Face datasets): a name or id there is customer data, not a label. */
    @Test
    void piiIsRedactedInArgumentsGivenAsAnObjectWhateverTheKey() {
        String line = """
                {"messages": [{"role": "user", "content": "Book it."}, {"role": "assistant", "tool_calls": [
                  {"id": "c1", "function": {"name": "book", "arguments": {"name": "li.si@example.com",
                   "id": "11010519491231002X", "contact": {"phone": "13812345678"}}}}]}]}""";
        Record r = ((Parsed.Ok) Formats.parseObject(line, "calls.jsonl", 1, ReadOptions.DEFAULTS)).record();
        Outcome o = new PiiStep(PiiRedactor.defaults()).apply(r);
        assertEquals(Map.of("name", "[EMAIL]", "id", "[ID_NUMBER]", "contact", Map.of("phone", "[PHONE]")),
                function(o.record()).get("arguments"));
        assertEquals("book", function(o.record()).get("name"));
        assertEquals("c1", ((Map<?, ?>) ((List<?>) ((Map<?, ?>) ((List<?>) o.record().fields().get("messages")).get(1))
                .get("tool_calls")).getFirst()).get("id"));
    }

    @Test
    void cleaningRewritesJsonValuesNotTheJson() throws Exception {
        // whole-text cleaning would decode &quot; into a bare quote inside the string and break the JSON
        String pretty = "{\n  \"query\": \"Tom &quot;T&quot;  <b>bold</b>\",\n  \"limit\": 5\n}";
        Record r = call("search", pretty, "[\"<p>found</p>\"]");
        Outcome o = TextCleaner.defaults().apply(r);
        assertEquals("{\n  \"query\": \"Tom \\\"T\\\" bold\",\n  \"limit\": 5\n}", arguments(o.record()));
        assertEquals("Tom \"T\" bold", JSON.readTree(arguments(o.record())).get("query").textValue());
        assertEquals("[\"found\"]", result(o.record()));
    }

    @Test
    void exactDedupTellsCallsApartByFunctionArgumentsAndResultButNotByJsonLayout() {
        ExactDedup dedup = new ExactDedup();
        List<Outcome> outcomes = List.of(
                call("get_weather", "{\"city\": \"Paris\"}", "{\"celsius\": 18}"),
                call("get_forecast", "{\"city\": \"Paris\"}", "{\"celsius\": 18}"),
                call("get_weather", "{\"city\": \"Lyon\"}", "{\"celsius\": 18}"),
                call("get_weather", "{\"city\": \"Paris\"}", "{\"celsius\": 21}"),
                call("get_weather", "{\"city\":\"Paris\"}", "{ \"celsius\" : 18 }")).stream().map(dedup::apply).toList();
        assertEquals(List.of(Outcome.Kind.KEPT, Outcome.Kind.KEPT, Outcome.Kind.KEPT, Outcome.Kind.KEPT,
                Outcome.Kind.DROPPED), outcomes.stream().map(Outcome::kind).toList());
    }

    @Test
    void qualityRulesCountArgumentsAndResultsButNotTheirSyntax() {
        String arguments = "{\"city\": \"Paris\", \"days\": 2, \"unit\": \"celsius\"}";
        Record r = call("get_weather", arguments, "{\"celsius\": 18, \"sky\": \"clear\"}");
        QualityFilter defaults = new QualityFilter(QualityConfig.defaults());
        assertEquals("too many symbols", defaults.check(arguments), "the raw JSON is mostly punctuation");
        assertEquals(Outcome.Kind.KEPT, defaults.apply(r).kind(), "the record's words are not");
        // 14 texts joined by newlines: "Look up my account.", the calls-only turn's empty content, the call's name
        // "get_weather" (its type tag "function" is a label), the arguments' names and values city Paris days 2 unit
        // celsius, the result's celsius 18 sky clear, "Done."
        int chars = 19 + 0 + 11 + (4 + 5 + 4 + 1 + 4 + 7) + (7 + 2 + 3 + 5) + 5 + 13;
        assertEquals(chars, r.text().length());
        assertEquals("too long (chars)", new QualityFilter(QualityConfig.defaults().withChars(1, chars - 1)).check(r.text()));
        assertEquals(null, new QualityFilter(QualityConfig.defaults().withChars(1, chars)).check(r.text()));
    }

    @Test
    void aMalformedToolRecordIsQuarantinedNamingThePath() {
        String line = "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", "
                + "\"tool_calls\": [{\"type\": \"function\", \"function\": {\"arguments\": \"{}\"}}]}]}";
        Parsed.Bad bad = assertInstanceOf(Parsed.Bad.class, Formats.parseObject(line, "calls.jsonl", 4, ReadOptions.DEFAULTS));
        assertEquals("wrong field types: messages[1].tool_calls[0].function.name must be a non-empty string, found "
                + "null/absent (schema OPENAI)", bad.badLine().reason());
        assertEquals(4, bad.badLine().line());
    }

    /**
     * A ShareGPT record of one call (LLaMA-Factory's layout): the function_call value {@code {"name": function,
     * "arguments": arguments}}, the observation {@code result}, and {@code tools} as JSON text whose description holds
     * an e-mail address that no step may touch.
     */
    private static Record shareGptCall(String function, String arguments, String result) {
        String call = "{\"name\": \"" + function + "\", \"arguments\": " + arguments + "}";
        String line = """
                {"conversations": [{"from": "human", "value": "Look up my account."},
                 {"from": "function_call", "value": %s}, {"from": "observation", "value": %s},
                 {"from": "gpt", "value": "Done."}], "tools": %s}""".formatted(quote(call), quote(result), quote(SHAREGPT_TOOLS));
        Parsed parsed = Formats.parseObject(line, "sharegpt.jsonl", 1, ReadOptions.DEFAULTS);
        return assertInstanceOf(Parsed.Ok.class, parsed, () -> parsed.toString()).record();
    }

    private static final String SHAREGPT_TOOLS = "[{\"name\": \"find_account\", \"description\": \"Ask ops@example.com "
            + "&amp; <b>wait</b>\", \"parameters\": {\"type\": \"object\"}}]";

    @Test
    void shareGptCallsAreRedactedAndCleanedInTheirArgumentsOnlyAndTheToolsTextIsNeverTouched() throws Exception {
        Record r = shareGptCall("find_account", "{\"email\": \"zhang.san@example.com\", \"phone\": 13812345678}",
                "{\"owner\": \"Zhang\", \"card\": \"4111 1111 1111 1111\"}");
        Outcome o = new PiiStep(PiiRedactor.defaults()).apply(r);
        assertEquals(Map.of("EMAIL", 1, "PHONE", 1, "BANK_CARD", 1), o.tallies(), "not the e-mail in the tools");
        String call = shareGptValue(o.record(), 1);
        assertEquals("{\"name\": \"find_account\", \"arguments\": {\"email\": \"[EMAIL]\", \"phone\": \"[PHONE]\"}}", call);
        assertEquals("[EMAIL]", JSON.readTree(call).get("arguments").get("email").textValue(), "still JSON");
        assertEquals("{\"owner\": \"Zhang\", \"card\": \"[BANK_CARD]\"}", shareGptValue(o.record(), 2));
        assertEquals(SHAREGPT_TOOLS, o.record().fields().get("tools"));

        Record html = shareGptCall("search", "{\"query\": \"Tom &quot;T&quot;  <b>bold</b>\"}", "[\"<p>found</p>\"]");
        Outcome cleaned = TextCleaner.defaults().apply(html);
        assertEquals("{\"name\": \"search\", \"arguments\": {\"query\": \"Tom \\\"T\\\" bold\"}}",
                shareGptValue(cleaned.record(), 1));
        assertEquals("[\"found\"]", shareGptValue(cleaned.record(), 2));
        assertEquals(SHAREGPT_TOOLS, cleaned.record().fields().get("tools"), "its &amp; and <b> stay");
    }

    @Test
    void exactDedupTellsShareGptCallsApartByFunctionAndArgumentsButNotByJsonLayout() {
        ExactDedup dedup = new ExactDedup();
        List<Outcome> outcomes = List.of(
                shareGptCall("get_weather", "{\"city\": \"Paris\"}", "18"),
                shareGptCall("get_forecast", "{\"city\": \"Paris\"}", "18"),
                shareGptCall("get_weather", "{\"city\": \"Lyon\"}", "18"),
                shareGptCall("get_weather", "{ \"city\" :\"Paris\" }", "18")).stream().map(dedup::apply).toList();
        assertEquals(List.of(Outcome.Kind.KEPT, Outcome.Kind.KEPT, Outcome.Kind.KEPT, Outcome.Kind.DROPPED),
                outcomes.stream().map(Outcome::kind).toList());
    }

    @Test
    void aShareGptCallWithoutANameIsQuarantinedNamingTheTurn() {
        String line = "{\"conversations\": [{\"from\": \"human\", \"value\": \"x\"}, {\"from\": \"function_call\", "
                + "\"value\": \"{\\\"arguments\\\": {}}\"}]}";
        Parsed.Bad bad = assertInstanceOf(Parsed.Bad.class, Formats.parseObject(line, "sharegpt.jsonl", 3, ReadOptions.DEFAULTS));
        assertEquals("wrong field types: conversations[1].value (function_call) has no function name (a non-empty string "
                + "under \"name\"); write it as JSON text of {\"name\": ..., \"arguments\": {...}} or of an array of "
                + "such calls (schema SHAREGPT)", bad.badLine().reason());
    }

    /** The conversion step: ShareGPT calls become OpenAI messages; a shape without tools drops the record, saying why. */
    @Test
    void convertStepWritesShareGptCallsAsOpenAiAndDropsWhatTheTargetCannotHold() {
        Record r = shareGptCall("get_weather", "{\"city\": \"Paris\"}", "18");
        Outcome openai = new ConvertStep(Schema.OPENAI).apply(r);
        assertEquals(Outcome.Kind.CHANGED, openai.kind());
        Map<?, ?> call = (Map<?, ?>) ((List<?>) ((Map<?, ?>) ((List<?>) openai.record().fields().get("messages")).get(1))
                .get("tool_calls")).getFirst();
        assertEquals(Map.of("name", "get_weather", "arguments", "{\"city\": \"Paris\"}"), call.get("function"));
        assertEquals("call_0", call.get("id"));
        assertEquals(Outcome.Kind.KEPT, new ConvertStep(Schema.SHAREGPT).apply(r).kind());

        ConvertStep alpaca = new ConvertStep(Schema.ALPACA);
        Outcome dropped = alpaca.apply(r);
        assertEquals(Outcome.Kind.DROPPED, dropped.kind());
        assertEquals("cannot convert to ALPACA: it has tools, tool calls or tool results, which ALPACA cannot hold; keep "
                + "it as OPENAI (messages with tool_calls and tool turns, tools beside them) or SHAREGPT (function_call "
                + "and observation turns, tools beside them)", dropped.reason(), "one reason for every such record");
        assertEquals(Map.of("schema", "alpaca"), alpaca.params());
    }

    private static String shareGptValue(Record r, int turn) {
        return (String) ((Map<?, ?>) ((List<?>) r.fields().get("conversations")).get(turn)).get("value");
    }

    private static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<?, ?> function(Record r) {
        Map<?, ?> assistant = (Map<?, ?>) ((List<?>) r.fields().get("messages")).get(1);
        return (Map<?, ?>) ((Map<?, ?>) ((List<?>) assistant.get("tool_calls")).getFirst()).get("function");
    }

    private static String arguments(Record r) {
        return (String) function(r).get("arguments");
    }

    private static Map<?, ?> toolTurn(Record r) {
        return (Map<?, ?>) ((List<?>) r.fields().get("messages")).get(2);
    }

    private static String result(Record r) {
        return (String) toolTurn(r).get("content");
    }
}
