package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.util.Collections;

import static dev.finetune4j.serve.ServerFixture.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Prompts that cannot fit are refused before they are tokenized: tokenizing a body of megabytes takes tens of
 * seconds of CPU, and a request with more prompts than the engine's queue holds could never be queued whole.
 */
class OversizedPromptsTest {
    /** 15 million characters: tokenizing them took 36 s (completions) and 27 s (chat) before they were refused. */
    private static final String HUGE_TEXT = "ab ".repeat(5_000_000);
    private static ServerFixture fixture;

    @BeforeAll
    static void start() {
        fixture = ServerFixture.start();
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    @Test
    @Timeout(5)
    void aHugePromptIs400BeforeItIsTokenized() throws Exception {
        JsonNode error = assertError(fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"max_tokens\": 1, \"prompt\": \""
                + HUGE_TEXT + "\"}"), 400, "invalid_value", "prompt");
        String message = error.get("message").asText();
        assertTrue(message.contains("has " + HUGE_TEXT.length() + " characters"), message);
        assertTrue(message.contains("at most " + PromptLimits.MAX_CHARACTERS_PER_TOKEN * (long) fixture.engine.maxPromptTokens()
                + " characters"), message);
    }

    @Test
    @Timeout(5)
    void aHugeChatMessageIs400BeforeItIsTokenized() throws Exception {
        JsonNode error = assertError(fixture.post("/v1/chat/completions", "{\"model\": \"tiny-chat\", \"max_tokens\": 1, "
                + "\"messages\": [{\"role\": \"user\", \"content\": \"" + HUGE_TEXT + "\"}]}"), 400, "invalid_value", "messages");
        assertTrue(error.get("message").asText().contains("characters"), error.toString());
    }

    @Test
    void morePromptsThanOneRequestMayCarryIs400NotARetryableQueueFull() throws Exception {
        String tooMany = String.join(", ", Collections.nCopies(100, "[1, 2]"));
        JsonNode error = assertError(fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"max_tokens\": 1, \"prompt\": ["
                + tooMany + "]}"), 400, "invalid_value", "prompt");
        assertTrue(error.get("message").asText().contains("at most " + PromptLimits.DEFAULT_MAX_PROMPTS + " prompts"), error.toString());

        String atTheLimit = String.join(", ", Collections.nCopies(PromptLimits.DEFAULT_MAX_PROMPTS, "\"hi\""));
        HttpResponse<String> answered = fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"max_tokens\": 1, \"prompt\": ["
                + atTheLimit + "]}");
        assertEquals(200, answered.statusCode(), answered.body());
        assertEquals(PromptLimits.DEFAULT_MAX_PROMPTS, ServerFixture.json(answered).get("choices").size());
    }

    @Test
    void aServerSetForASmallerQueueTakesFewerPromptsPerRequest() throws Exception {
        try (ServerFixture small = new ServerFixture(b -> b.maxQueuedRequests(2), true, s -> s.maxPromptsPerRequest(2))) {
            assertEquals(200, small.post("/v1/completions", "{\"model\": \"tiny-chat\", \"max_tokens\": 1, \"prompt\": [\"a\", \"b\"]}")
                    .statusCode());
            JsonNode error = assertError(small.post("/v1/completions", "{\"model\": \"tiny-chat\", \"max_tokens\": 1, \"prompt\": "
                    + "[\"a\", \"b\", \"c\"]}"), 400, "invalid_value", "prompt");
            assertTrue(error.get("message").asText().contains("at most 2 prompts"), error.toString());
        }
    }
}
