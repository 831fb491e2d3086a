package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.tokenizer.ChatMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --reasoning-parser} over loopback on the tiny model with a template that opens {@code <think>} in the
 * generation prompt (as DeepSeek-R1-Distill's does): {@code auto} tells it from the template, and the random
 * model's greedy answer, which never writes {@code </think>}, is all thinking, whole ({@code reasoning_content},
 * null {@code content}) and streamed ({@code delta.reasoning_content}, with each token's log-probability once) alike;
 * {@code none} (the default) answers the text as generated; JSON mode's output and {@code /v1/completions} are
 * never split.
 */
class ReasoningRouteTest {
    private static final int MAX_TOKENS = 12;
    private static ServerFixture auto;
    private static ServerFixture none;
    private static String noWhitespace;
    private static String expected;

    @BeforeAll
    static void start() {
        auto = ServerFixture.withThinkingTemplate(b -> b.reasoningParser(ReasoningParser.AUTO));
        none = ServerFixture.withThinkingTemplate(b -> b);
        // the random model favours whitespace, which the split drops around the thinking: banned, it writes words
        noWhitespace = auto.whitespaceBanned();
        long[] prompt = auto.tokenizer.encode(auto.tokenizer.applyChatTemplate(List.of(ChatMessage.user("Hi")), true));
        expected = auto.tokenizer.decode(ServerFixture.greedyReference(prompt, MAX_TOKENS, false, auto.whitespaceBan(),
                auto.tokenizer.eosTokenId().getAsLong()));
    }

    @AfterAll
    static void stop() {
        auto.close();
        none.close();
    }

    private static String chat(boolean stream) {
        return "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": "
                + MAX_TOKENS + ", \"temperature\": 0, \"logprobs\": true, \"logit_bias\": " + noWhitespace
                + ", \"stream\": " + stream + "}";
    }

    @Test
    void thinkingThePromptOpenedIsReasoningContentWholeAndStreamedAlike() throws Exception {
        assertFalse(expected.isBlank(), "the reference thinks: '" + expected + "'");
        assertFalse(expected.contains(ReasoningSplitter.END), expected);
        JsonNode whole = ServerFixture.json(auto.post("/v1/chat/completions", chat(false)));
        List<JsonNode> chunks = ToolCallingRouteTest.chunks(auto.postStreaming("/v1/chat/completions", chat(true)));

        JsonNode message = whole.get("choices").get(0).get("message");
        assertEquals(expected.strip(), message.get("reasoning_content").asText(), message.toString());
        assertTrue(message.get("content").isNull(), message.toString());
        int tokens = whole.get("usage").get("completion_tokens").asInt();
        assertEquals(tokens, whole.get("choices").get(0).get("logprobs").get("content").size());

        StringBuilder reasoning = new StringBuilder();
        int streamedLogprobs = 0;
        for (JsonNode chunk : chunks) {
            JsonNode choice = chunk.get("choices").get(0);
            reasoning.append(choice.get("delta").path("reasoning_content").asText(""));
            streamedLogprobs += choice.path("logprobs").path("content").size();
        }
        assertEquals(expected.strip(), reasoning.toString());
        assertEquals("", ToolCallDeltas.content(chunks));
        assertEquals(tokens, streamedLogprobs, "each token's log-probability once");
        assertEquals(whole.get("choices").get(0).get("finish_reason"), chunks.getLast().get("choices").get(0).get("finish_reason"));
    }

    @Test
    void withoutAParserTheAnswerIsTheTextAsGenerated() throws Exception {
        JsonNode message = ServerFixture.json(none.post("/v1/chat/completions", chat(false))).get("choices").get(0).get("message");
        List<JsonNode> chunks = ToolCallingRouteTest.chunks(none.postStreaming("/v1/chat/completions", chat(true)));

        assertEquals(expected, message.get("content").asText());
        assertFalse(message.has("reasoning_content"), message.toString());
        assertEquals(expected, ToolCallDeltas.content(chunks));
        assertTrue(chunks.stream().noneMatch(c -> c.get("choices").path(0).path("delta").has("reasoning_content")));
    }

    @Test
    void anOutputConstrainedToJsonIsContentUnderTheParserToo() throws Exception {
        String body = chat(false).replace("\"max_tokens\"", "\"response_format\": {\"type\": \"json_object\"}, \"max_tokens\"");
        JsonNode split = ServerFixture.json(auto.post("/v1/chat/completions", body)).get("choices").get(0).get("message");
        JsonNode plain = ServerFixture.json(none.post("/v1/chat/completions", body)).get("choices").get(0).get("message");

        assertTrue(plain.get("content").asText().startsWith("{"), plain.toString());
        assertEquals(plain.get("content"), split.get("content"));
        assertFalse(split.has("reasoning_content"), split.toString());
    }

    @Test
    void textCompletionsAreNeverSplit() throws Exception {
        String prompt = auto.tokenizer.applyChatTemplate(List.of(ChatMessage.user("Hi")), true);
        JsonNode r = ServerFixture.json(auto.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": "
                + ServerFixture.JSON.writeValueAsString(prompt) + ", \"max_tokens\": " + MAX_TOKENS + ", \"temperature\": 0, "
                + "\"logit_bias\": " + noWhitespace + "}"));

        assertEquals(expected, r.get("choices").get(0).get("text").asText());
        assertFalse(r.get("choices").get(0).has("reasoning_content"));
    }
}
