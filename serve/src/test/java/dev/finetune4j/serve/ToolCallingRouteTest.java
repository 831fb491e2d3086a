package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.generate.json.JsonGrammar;
import dev.finetune4j.core.generate.json.JsonOutput;
import dev.finetune4j.core.generate.json.TokenBytes;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.generate.tools.ToolChoiceSchemas;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.ChatJson;
import dev.finetune4j.core.tokenizer.ToolDefinition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Function calling over loopback on the tiny model with a tools template: a forced call (a named function,
 * {@code required}) is what core's Generator writes under the same grammar, arrives as {@code tool_calls} with
 * {@code finish_reason "tool_calls"}, whole and streamed (announced, then the arguments in pieces that join to the
 * whole answer's); a conversation with earlier calls and results is the
 * template's prompt; malformed tool fields are 400s naming the field.
 */
class ToolCallingRouteTest {
    private static final String WEATHER = "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": "
            + "\"Weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", "
            + "\"maxLength\": 6, \"pattern\": \"^[A-Z]\"}, \"days\": {\"type\": \"integer\", \"enum\": [1, 2, 3, 7], \"minimum\": 1}}, "
            + "\"required\": [\"city\", \"days\"], \"additionalProperties\": false}}}";
    private static final String TIME = "{\"type\": \"function\", \"function\": {\"name\": \"get_time\", \"parameters\": "
            + "{\"type\": \"object\", \"properties\": {\"utc\": {\"type\": \"boolean\"}}, \"required\": [\"utc\"]}}}";
    private static final String TOOLS = "[" + WEATHER + ", " + TIME + "]";
    private static final String USER = "[{\"role\": \"user\", \"content\": \"Weather?\"}]";
    private static ServerFixture fixture;
    private static String noWhitespace;

    @BeforeAll
    static void start() {
        fixture = ServerFixture.withToolsTemplate(b -> b);
        // the random model favours whitespace, which JSON allows between tokens: a bias keeps its answers short
        noWhitespace = fixture.whitespaceBanned();
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    private static String request(String toolChoice, String extra) {
        return request(toolChoice, noWhitespace, extra);
    }

    private static String request(String toolChoice, String bias, String extra) {
        return "{\"model\": \"tiny-chat\", \"messages\": " + USER + ", \"tools\": " + TOOLS + ", \"tool_choice\": " + toolChoice
                + ", \"max_tokens\": 100, \"temperature\": 0, \"logit_bias\": " + bias + extra + "}";
    }

    /**
     * The whitespace bias, and one against the comma token: the random model would call tools until it runs out of
     * tokens, and where the grammar also allows {@code ]} (after a call) the biased comma loses to it, while inside
     * a call's arguments it is the only token allowed and is still written.
     */
    private static String oneCallBias() throws Exception {
        long[] comma = fixture.tokenizer.encode(",");
        assertEquals(1, comma.length);
        ObjectNode bias = (ObjectNode) ServerFixture.JSON.readTree(noWhitespace);
        return bias.put(Long.toString(comma[0]), -100).toString();
    }

    @Test
    void aNamedFunctionIsCalledWithTheArgumentsTheGeneratorWritesUnderItsSchema() throws Exception {
        JsonNode choice = ServerFixture.json(fixture.post("/v1/chat/completions",
                request("{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}", ""))).get("choices").get(0);

        assertEquals("tool_calls", choice.get("finish_reason").asText(), choice.toString());
        JsonNode message = choice.get("message");
        assertTrue(message.get("content").isNull(), message.toString());
        assertEquals(1, message.get("tool_calls").size());
        JsonNode call = message.get("tool_calls").get(0);
        assertTrue(call.get("id").asText().matches("call_[A-Za-z0-9]{24}"), call.toString());
        assertEquals("function", call.get("type").asText());
        assertEquals("get_weather", call.get("function").get("name").asText());
        String arguments = call.get("function").get("arguments").asText();
        assertEquals(reference(ToolChoiceSchemas.function(tool(WEATHER)), noWhitespace), arguments);
        JsonNode args = ServerFixture.JSON.readTree(arguments);
        assertEquals(List.of("city", "days"), names(args));
        assertTrue(args.get("city").isTextual() && args.get("city").asText().length() <= 6, arguments);
        assertTrue(Set.of(1, 2, 3, 7).contains(args.get("days").asInt()) && args.get("days").isIntegralNumber(), arguments);
    }

    @Test
    void aStreamedNamedCallIsAnnouncedThenItsArgumentsComeInPiecesThatJoinToTheWholeAnswers() throws Exception {
        String named = "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}";
        List<JsonNode> chunks = chunks(fixture.postStreaming("/v1/chat/completions", request(named, ", \"stream\": true")));
        JsonNode whole = ServerFixture.json(fixture.post("/v1/chat/completions", request(named, "")))
                .get("choices").get(0).get("message").get("tool_calls").get(0);

        chunks.subList(0, chunks.size() - 1).forEach(c -> assertTrue(c.get("choices").get(0).get("finish_reason").isNull()));
        assertEquals("", ToolCallDeltas.content(chunks));
        ToolCallDeltas deltas = new ToolCallDeltas(chunks);
        assertEquals(1, deltas.calls.size(), deltas.calls.toString());
        assertTrue(deltas.calls.getFirst().get("id").asText().startsWith("call_"));
        assertTrue(deltas.pieces.getFirst() > 1, "arguments in " + deltas.pieces + " pieces");
        assertEquals(reference(ToolChoiceSchemas.function(tool(WEATHER)), noWhitespace),
                deltas.calls.getFirst().get("function").get("arguments").asText());
        assertEquals(whole.get("function"), deltas.calls.getFirst().get("function"));
        assertEquals("tool_calls", chunks.getLast().get("choices").get(0).get("finish_reason").asText());
    }

    @Test
    void requiredCallsTheToolsByNameWholeAndStreamedAlike() throws Exception {
        String bias = oneCallBias();
        JsonNode message = ServerFixture.json(fixture.post("/v1/chat/completions", request("\"required\"", bias, "")))
                .get("choices").get(0).get("message");
        List<JsonNode> chunks = chunks(fixture.postStreaming("/v1/chat/completions",
                request("\"required\"", bias, ", \"stream\": true")));
        ToolCallDeltas streamed = new ToolCallDeltas(chunks);

        String expected = reference(ToolChoiceSchemas.anyFunction(List.of(tool(WEATHER), tool(TIME)), true), bias);
        JsonNode expectedCalls = ServerFixture.JSON.readTree(expected);
        assertTrue(message.get("tool_calls").size() >= 1, message.toString());
        assertEquals(expectedCalls.size(), message.get("tool_calls").size(), expected);
        assertEquals(expectedCalls.size(), streamed.calls.size(), streamed.calls.toString());
        for (int i = 0; i < expectedCalls.size(); i++) {
            JsonNode function = message.get("tool_calls").get(i).get("function");
            assertTrue(Set.of("get_weather", "get_time").contains(function.get("name").asText()), function.toString());
            assertEquals(expectedCalls.get(i).get("name").asText(), function.get("name").asText());
            assertEquals(expectedCalls.get(i).get("parameters"), ServerFixture.JSON.readTree(function.get("arguments").asText()));
            assertEquals(function, streamed.calls.get(i).get("function"));
        }
        assertEquals("tool_calls", chunks.getLast().get("choices").get(0).get("finish_reason").asText());
    }

    @Test
    void requiredWithoutParallelCallsMakesOneCall() throws Exception {
        JsonNode choice = ServerFixture.json(fixture.post("/v1/chat/completions",
                request("\"required\"", ", \"parallel_tool_calls\": false"))).get("choices").get(0);

        String expected = reference(ToolChoiceSchemas.anyFunction(List.of(tool(WEATHER), tool(TIME)), false), noWhitespace);
        assertEquals(1, ServerFixture.JSON.readTree(expected).size());
        assertEquals(1, choice.get("message").get("tool_calls").size(), choice.toString());
        assertEquals("tool_calls", choice.get("finish_reason").asText());
    }

    @Test
    void aConversationWithCallsAndResultsIsTheTemplatesPrompt() throws Exception {
        String messages = "[{\"role\": \"user\", \"content\": \"Weather?\"}, {\"role\": \"assistant\", \"content\": null, "
                + "\"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
                + "\"arguments\": \"{\\\"city\\\": \\\"Oslo\\\", \\\"days\\\": 1}\"}}]}, "
                + "{\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"rain\"}]";
        List<ToolDefinition> tools = ChatJson.tools(ServerFixture.JSON.readTree("[" + WEATHER + "]"), "tools");
        var conversation = ChatJson.messages(ServerFixture.JSON.readTree(messages), "messages");
        long[] withTools = fixture.tokenizer.encode(fixture.tokenizer.applyChatTemplate(conversation, tools, true));
        long[] without = fixture.tokenizer.encode(fixture.tokenizer.applyChatTemplate(conversation, List.of(), true));
        assertTrue(fixture.tokenizer.decode(withTools).contains("<tool_call>{\"name\": \"get_weather\""));

        for (String choice : List.of("\"auto\"", "\"none\"")) {
            long[] prompt = choice.equals("\"none\"") ? without : withTools;
            JsonNode r = ServerFixture.json(fixture.post("/v1/chat/completions", "{\"model\": \"tiny-chat\", \"messages\": "
                    + messages + ", \"tools\": [" + WEATHER + "], \"tool_choice\": " + choice + ", \"max_tokens\": 8, "
                    + "\"temperature\": 0}"));

            assertEquals(prompt.length, r.get("usage").get("prompt_tokens").asInt(), choice);
            String expected = fixture.tokenizer.decode(ServerFixture.greedyReference(prompt, 8, false,
                    fixture.tokenizer.eosTokenId().getAsLong()));
            assertEquals(expected, r.get("choices").get(0).get("message").get("content").asText(), choice);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "\"tools\": [{\"type\": \"function\", \"function\": {}}]|tools",
            "\"tools\": {}|tools",
            "\"tools\": [{\"type\": \"retrieval\"}]|tools",
            "\"tool_choice\": \"required\"|tool_choice",
            "\"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}|tool_choice",
            "\"tools\": " + "[{\"type\": \"function\", \"function\": {\"name\": \"f\"}}], \"tool_choice\": \"sometimes\"|tool_choice",
            "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}], \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"g\"}}|tool_choice",
            "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}], \"tool_choice\": {\"function\": {\"name\": \"f\"}}|tool_choice",
            "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}], \"parallel_tool_calls\": \"yes\"|parallel_tool_calls",
            "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {\"oneOf\": [{\"type\": \"string\"}]}}}], \"tool_choice\": \"required\"|tools",
            "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}], \"tool_choice\": \"required\", \"response_format\": {\"type\": \"json_object\"}|tool_choice",
            "\"functions\": [{\"name\": \"f\"}]|functions",
    })
    void malformedToolFieldsAre400sNamingTheField(String fields, String param) throws Exception {
        HttpResponse<String> r = fixture.post("/v1/chat/completions", "{\"model\": \"tiny-chat\", \"messages\": " + USER + ", "
                + fields + "}");

        ServerFixture.assertError(r, 400, "invalid_value", param);
    }

    @Test
    void aNamedFunctionNotInToolsIsNamedInTheError() throws Exception {
        JsonNode error = ServerFixture.assertError(fixture.post("/v1/chat/completions", request(
                "{\"type\": \"function\", \"function\": {\"name\": \"get_stock\"}}", "")), 400, "invalid_value", "tool_choice");

        assertTrue(error.get("message").asText().contains("'get_stock'") && error.get("message").asText().contains("get_weather, get_time"),
                error.get("message").asText());
    }

    @Test
    void autoNeedsAKnownCallFormatUnlessTheServerIsToldOne() throws Exception {
        String body = "{\"model\": \"tiny-chat\", \"messages\": " + USER + ", \"tools\": [" + TIME + "], \"max_tokens\": 2}";
        try (ServerFixture plain = ServerFixture.start();
             ServerFixture told = new ServerFixture(b -> b, true, b -> b.toolCallFormat(ToolCallFormat.LLAMA3_JSON))) {
            JsonNode error = ServerFixture.assertError(plain.post("/v1/chat/completions", body), 400, "invalid_value", "tool_choice");
            assertTrue(error.get("message").asText().contains("--tool-call-parser"), error.get("message").asText());

            assertEquals(200, told.post("/v1/chat/completions", body).statusCode());
            assertEquals(200, plain.post("/v1/chat/completions", body.replace("\"max_tokens\"", "\"tool_choice\": \"none\", \"max_tokens\"")).statusCode());
        }
    }

    /** Core's Generator on a fresh copy of the model, greedy, under {@code schema}'s grammar, with the route's bias. */
    private static String reference(JsonNode schema, String biasJson) throws Exception {
        List<ToolDefinition> tools = ChatJson.tools(ServerFixture.JSON.readTree(TOOLS), "tools");
        long[] prompt = fixture.tokenizer.encode(fixture.tokenizer.applyChatTemplate(
                ChatJson.messages(ServerFixture.JSON.readTree(USER), "messages"), tools, true));
        long eos = fixture.tokenizer.eosTokenId().getAsLong();
        Map<Long, Float> bias = new LinkedHashMap<>();
        ServerFixture.JSON.readTree(biasJson).properties().forEach(e -> bias.put(Long.parseLong(e.getKey()), -100f));
        GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(100).logitBias(bias)
                .constraint(new JsonOutput(JsonGrammar.fromSchema(schema, false, JsonGrammar.ValueAssertions.SKIP),
                        TokenBytes.of(fixture.tokenizer)))
                .stopTokens(Set.of(eos)).build();
        try (LanguageModel copy = AutoModel.loadCausalLM(ServerFixture.modelDir())) {
            long[] out = Generator.generate(copy, prompt, cfg);
            long[] answer = Arrays.copyOfRange(out, prompt.length, out.length);
            assertEquals(eos, answer[answer.length - 1], "the reference completes its JSON: " + fixture.tokenizer.decode(answer));
            return fixture.tokenizer.decode(Arrays.copyOf(answer, answer.length - 1));
        }
    }

    private static ToolDefinition tool(String json) throws Exception {
        return ChatJson.tool(ServerFixture.JSON.readTree(json), "tool");
    }

    private static List<String> names(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** The chunks of a stream, checking it ends with [DONE]. */
    static List<JsonNode> chunks(List<String> events) throws Exception {
        assertEquals("[DONE]", events.getLast());
        List<JsonNode> chunks = new ArrayList<>();
        for (String e : events.subList(0, events.size() - 1)) {
            chunks.add(ServerFixture.JSON.readTree(e));
        }
        return chunks;
    }
}
