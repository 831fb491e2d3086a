package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code tool_choice "auto"} streamed over loopback: the server reads calls in Llama 3's JSON format, and a JSON
 * schema {@code response_format} makes the tiny random model write one ({@code {"name": "get_time", "parameters":
 * {...}}}), so the route's own parsing of a model's text is what is streamed. The stream announces the call, sends
 * its arguments in pieces that join to the whole answer's arguments, and a call cut by {@code max_tokens} is the
 * same content in both.
 */
class AutoToolCallStreamingRouteTest {
    private static final String TOOLS = "[{\"type\": \"function\", \"function\": {\"name\": \"get_time\", \"parameters\": "
            + "{\"type\": \"object\", \"properties\": {\"note\": {\"type\": \"string\", \"maxLength\": 16}}, \"required\": [\"note\"]}}}]";
    private static final String CALL_SCHEMA = "{\"type\": \"object\", \"properties\": {\"name\": {\"enum\": [\"get_time\"]}, "
            + "\"parameters\": {\"type\": \"object\", \"properties\": {\"note\": {\"type\": \"string\", \"maxLength\": 16}}, "
            + "\"required\": [\"note\"], \"additionalProperties\": false}}, \"required\": [\"name\", \"parameters\"], "
            + "\"additionalProperties\": false}";
    private static ServerFixture fixture;
    private static String noWhitespace;

    @BeforeAll
    static void start() {
        fixture = new ServerFixture(b -> b, true, b -> b.toolCallFormat(ToolCallFormat.LLAMA3_JSON));
        // the random model favours whitespace, which JSON allows between tokens: a bias keeps its answers short
        noWhitespace = fixture.whitespaceBanned();
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    private static String request(int maxTokens, boolean stream) {
        return "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Time?\"}], \"tools\": " + TOOLS
                + ", \"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"call\", \"schema\": "
                + CALL_SCHEMA + "}}, \"max_tokens\": " + maxTokens + ", \"temperature\": 0, \"logit_bias\": " + noWhitespace
                + ", \"stream\": " + stream + "}";
    }

    @Test
    void aStreamedCallJoinsToTheWholeAnswersCallAndACutOneIsTheSameContentInBoth() throws Exception {
        JsonNode whole = ServerFixture.json(fixture.post("/v1/chat/completions", request(200, false)));
        List<JsonNode> chunks = ToolCallingRouteTest.chunks(fixture.postStreaming("/v1/chat/completions", request(200, true)));

        JsonNode choice = whole.get("choices").get(0);
        assertEquals("tool_calls", choice.get("finish_reason").asText(), choice.toString());
        assertTrue(choice.get("message").get("content").isNull(), choice.toString());
        JsonNode call = choice.get("message").get("tool_calls").get(0);
        String arguments = call.get("function").get("arguments").asText();
        assertTrue(arguments.startsWith("{\"note\":\""), arguments);
        ToolCallDeltas streamed = new ToolCallDeltas(chunks);
        assertEquals(1, streamed.calls.size());
        assertEquals(call.get("function"), streamed.calls.getFirst().get("function"));
        assertTrue(streamed.pieces.getFirst() > 3, "arguments in " + streamed.pieces + " pieces");
        assertEquals("", ToolCallDeltas.content(chunks));
        assertEquals("tool_calls", chunks.getLast().get("choices").get(0).get("finish_reason").asText());

        // cut a few tokens before the end: the head is read, the call never closes
        int cut = whole.get("usage").get("completion_tokens").asInt() - 4;
        JsonNode cutWhole = ServerFixture.json(fixture.post("/v1/chat/completions", request(cut, false))).get("choices").get(0);
        List<JsonNode> cutChunks = ToolCallingRouteTest.chunks(fixture.postStreaming("/v1/chat/completions", request(cut, true)));

        assertEquals("length", cutWhole.get("finish_reason").asText());
        assertTrue(!cutWhole.get("message").has("tool_calls"), cutWhole.toString());
        String content = cutWhole.get("message").get("content").asText();
        assertTrue(content.startsWith("{\"name\":\"get_time\",\"parameters\":{\"note\":"), content);
        assertEquals(content, ToolCallDeltas.content(cutChunks));
        ToolCallDeltas announced = new ToolCallDeltas(cutChunks);
        assertEquals(1, announced.calls.size(), "announced before it broke");
        assertTrue(arguments.startsWith(announced.calls.getFirst().get("function").get("arguments").asText()));
        assertEquals("length", cutChunks.getLast().get("choices").get(0).get("finish_reason").asText());
    }
}
