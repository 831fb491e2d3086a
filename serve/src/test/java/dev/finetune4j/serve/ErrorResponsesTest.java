package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static dev.finetune4j.serve.ServerFixture.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every error status over loopback, each in OpenAI's body shape with a message that says what to do. */
class ErrorResponsesTest {
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
    void malformedJsonIs400WithWhereItBroke() throws Exception {
        JsonNode error = assertError(fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": \"hi\""), 400,
                "malformed_json", null);
        assertTrue(error.get("message").asText().contains("line 1"), error.toString());
        assertError(fixture.post("/v1/chat/completions", "[1, 2]"), 400, "malformed_json", null);
        assertError(fixture.post("/v1/chat/completions", ""), 400, "malformed_json", null);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "{\"prompt\": \"hi\"}|model",
            "{\"model\": 3, \"prompt\": \"hi\"}|model",
            "{\"model\": \"tiny-chat\"}|prompt",
            "{\"model\": \"tiny-chat\", \"prompt\": []}|prompt",
            "{\"model\": \"tiny-chat\", \"prompt\": [\"a\", [1]]}|prompt",
            "{\"model\": \"tiny-chat\", \"prompt\": [1, -2]}|prompt",
            "{\"model\": \"tiny-chat\", \"prompt\": [99999]}|prompt",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"n\": 129}|n",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"n\": 0}|n",
            "{\"model\": \"tiny-chat\", \"prompt\": [\"a\", \"b\"], \"n\": 40}|n",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"n\": 2, \"best_of\": 3}|best_of",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"temperature\": 3}|temperature",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"top_p\": 0}|top_p",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"max_tokens\": 0}|max_tokens",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"max_tokens\": \"ten\"}|max_tokens",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"repetition_penalty\": 0}|repetition_penalty",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"top_p\": 1e-50}|top_p",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"repetition_penalty\": 1e-46}|repetition_penalty",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}|stop",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"stop\": \"\"}|stop",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"stop\": \"%s\"}|stop",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"stream\": \"yes\"}|stream",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"stream_options\": {\"include_usage\": true}}|stream_options",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"logprobs\": 6}|logprobs",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"logprobs\": -1}|logprobs",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"logprobs\": true}|logprobs",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"logprobs\": 1, \"top_logprobs\": 2}|top_logprobs",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"logprobs\": 1, \"echo\": true}|echo",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"logit_bias\": [1]}|logit_bias",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"logit_bias\": {\"abc\": 1}}|logit_bias",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"logit_bias\": {\"-1\": 1}}|logit_bias",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"logit_bias\": {\"270\": 1}}|logit_bias",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"logit_bias\": {\"5\": 100.5}}|logit_bias",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"logit_bias\": {\"5\": \"ban\"}}|logit_bias",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"presence_penalty\": 2.5}|presence_penalty",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"frequency_penalty\": \"high\"}|frequency_penalty",
            "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", \"echo\": true}|echo",
    })
    void invalidCompletionParametersAre400NamingTheParameter(String body, String param) throws Exception {
        String tooLongStop = "x".repeat(SamplingParameters.MAX_STOP_LENGTH + 1);
        assertError(fixture.post("/v1/completions", body.replace("%s", tooLongStop)), 400, "invalid_value", param);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "{\"model\": \"tiny-chat\"}|messages",
            "{\"model\": \"tiny-chat\", \"messages\": []}|messages",
            "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"function\", \"content\": \"x\"}]}|messages",
            "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\"}]}|messages",
            "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}|messages",
            "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": [{}]}|tools",
            "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"top_logprobs\": 2}|top_logprobs",
            "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"logprobs\": false, \"top_logprobs\": 1}|top_logprobs",
            "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"logprobs\": true, \"top_logprobs\": 21}|top_logprobs",
            "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"logprobs\": 3}|logprobs",
            "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"logit_bias\": {\"7\": -101}}|logit_bias",
    })
    void invalidChatParametersAre400NamingTheParameter(String body, String param) throws Exception {
        assertError(fixture.post("/v1/chat/completions", body), 400, "invalid_value", param);
    }

    @Test
    void aBadLogitBiasIs400NamingTheKey() throws Exception {
        JsonNode notAnId = assertError(fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", "
                + "\"logit_bias\": {\"12\": 1, \"99999\": -100}}"), 400, "invalid_value", "logit_bias");
        assertTrue(notAnId.get("message").asText().contains("\"99999\"") && notAnId.get("message").asText().contains("269"),
                notAnId.toString());
        JsonNode badValue = assertError(fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", "
                + "\"logit_bias\": {\"12\": 250}}"), 400, "invalid_value", "logit_bias");
        assertTrue(badValue.get("message").asText().contains("\"12\""), badValue.toString());
        // 301 distinct keys (the vocabulary has only 270 ids, and the count is checked before the keys)
        StringBuilder many = new StringBuilder("{");
        for (int i = 0; i <= LogitBiasParameter.MAX_ENTRIES; i++) {
            many.append(i == 0 ? "" : ", ").append("\"key").append(i).append("\": 1");
        }
        JsonNode tooMany = assertError(fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": \"hi\", "
                + "\"logit_bias\": " + many + "}}"), 400, "invalid_value", "logit_bias");
        assertTrue(tooMany.get("message").asText().contains("at most 300"), tooMany.toString());
    }

    @Test
    void aPromptLongerThanTheModelsPositionsIs400() throws Exception {
        JsonNode error = assertError(fixture.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": \""
                + "word ".repeat(300) + "\"}"), 400, "invalid_value", "prompt");
        assertTrue(error.get("message").asText().contains("positions"), error.toString());
    }

    @Test
    void anUnknownModelIs404ListingTheServedOnes() throws Exception {
        JsonNode error = assertError(fixture.post("/v1/chat/completions", "{\"model\": \"gpt-4o\", \"messages\": "
                + "[{\"role\": \"user\", \"content\": \"hi\"}]}"), 404, "model_not_found", "model");
        assertTrue(error.get("message").asText().contains("tiny-chat") && error.get("message").asText().contains("lora"),
                error.toString());
    }

    @Test
    void unknownRoutesAre404AndWrongMethods405() throws Exception {
        assertError(fixture.get("/v1/embeddings"), 404, "not_found", null);
        HttpResponse<String> r = fixture.get("/v1/completions");
        assertError(r, 405, "method_not_allowed", null);
        assertEquals("POST", r.headers().firstValue("Allow").orElseThrow());
    }

    @Test
    void aFullQueueIs429WithRetryAfter() throws Exception {
        try (ServerFixture small = new ServerFixture(b -> b.maxBatchSize(1).maxQueuedRequests(1), true)) {
            // 12 callers at once, each asking for 200 tokens: one runs, one waits, the rest find the queue full
            List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                calls.add(small.http.sendAsync(HttpRequest.newBuilder(small.server.uri().resolve("/v1/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"tiny-chat\", \"prompt\": \"hi\", "
                                + "\"max_tokens\": 200, \"temperature\": 0}")).build(), HttpResponse.BodyHandlers.ofString()));
            }
            int ok = 0;
            int rejected = 0;
            for (CompletableFuture<HttpResponse<String>> call : calls) {
                HttpResponse<String> r = call.join();
                if (r.statusCode() == 429) {
                    assertError(r, 429, "queue_full", null);
                    assertTrue(Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow()) >= 1);
                    rejected++;
                } else {
                    assertEquals(200, r.statusCode(), r.body());
                    ok++;
                }
            }
            assertTrue(ok >= 1 && rejected >= 1, ok + " answered, " + rejected + " rejected");
        }
    }

    @Test
    void aClosedEngineIs503() throws Exception {
        try (ServerFixture closing = ServerFixture.start()) {
            closing.engine.close();
            assertError(closing.post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": \"hi\"}"), 503, "engine_closed", null);
        }
    }
}
