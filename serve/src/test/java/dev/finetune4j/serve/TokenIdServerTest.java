package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A model served without a tokenizer: token-id prompts work and return ids; text requests are 400. */
class TokenIdServerTest {
    private static ServerFixture fixture;

    @BeforeAll
    static void start() {
        fixture = new ServerFixture(b -> b, false);
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    @Test
    void tokenIdPromptsAnswerWithTheGeneratorsIds() throws Exception {
        long[] prompt = {72, 101, 108, 108, 111};
        long[] expected = ServerFixture.greedyReference(prompt, 8, false); // no tokenizer: no end-of-sequence id

        HttpResponse<String> r = fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": " + Arrays.toString(prompt)
                + ", \"max_tokens\": 8, \"temperature\": 0}");

        assertEquals(200, r.statusCode(), r.body());
        JsonNode choice = ServerFixture.json(r).get("choices").get(0);
        assertEquals("", choice.get("text").asText());
        List<Long> ids = new ArrayList<>();
        choice.get("token_ids").forEach(n -> ids.add(n.asLong()));
        assertEquals(Arrays.stream(expected).boxed().toList(), ids);

        List<String> events = fixture.postStreaming("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": "
                + Arrays.toString(prompt) + ", \"max_tokens\": 8, \"temperature\": 0, \"stream\": true}");
        List<Long> streamed = new ArrayList<>();
        for (String event : events.subList(0, events.size() - 1)) {
            ServerFixture.JSON.readTree(event).get("choices").get(0).get("token_ids").forEach(n -> streamed.add(n.asLong()));
        }
        assertEquals(ids, streamed);
    }

    /** Without a tokenizer a token shows as vLLM's "token_id:<id>" (and text_offset counts those strings). */
    @Test
    void logprobsNameTokensByTheirIds() throws Exception {
        HttpResponse<String> r = fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": [72, 101], "
                + "\"max_tokens\": 3, \"temperature\": 0, \"logprobs\": 1}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode choice = ServerFixture.json(r).get("choices").get(0);
        JsonNode logprobs = choice.get("logprobs");
        for (int k = 0; k < 3; k++) {
            String token = "token_id:" + choice.get("token_ids").get(k).asLong();
            assertEquals(token, logprobs.get("tokens").get(k).asText());
            assertTrue(logprobs.get("top_logprobs").get(k).has(token), logprobs.toString());
        }
        assertEquals(0, logprobs.get("text_offset").get(0).asInt());
    }

    @Test
    void textNeedsATokenizer() throws Exception {
        assertParam(fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": \"hi\"}"), "prompt");
        assertParam(fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": [1, 2], \"stop\": \"x\"}"), "stop");
        assertParam(fixture.post("/v1/chat/completions", "{\"model\": \"tiny-chat\", \"messages\": "
                + "[{\"role\": \"user\", \"content\": \"hi\"}]}"), "messages");
    }

    private static void assertParam(HttpResponse<String> r, String param) throws Exception {
        assertEquals(400, r.statusCode(), r.body());
        JsonNode error = ServerFixture.json(r).get("error");
        assertEquals(param, error.get("param").asText());
        assertEquals(true, error.get("message").asText().contains("tokenizer"), error.toString());
    }
}
