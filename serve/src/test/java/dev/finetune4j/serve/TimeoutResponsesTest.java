package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A request that runs into the engine's time limit (here 1 ns, so it ends while queued) is answered with OpenAI's
 * {@code finish_reason} "length" and the extension {@code "timed_out": true}, whole or streamed, and the official
 * client reads it as a normal completion.
 */
class TimeoutResponsesTest {
    private static ServerFixture fixture;

    @BeforeAll
    static void start() {
        fixture = new ServerFixture(b -> b.defaultTimeout(Duration.ofNanos(1)), true);
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    @Test
    void aTimedOutCompletionEndsWithLengthAndTimedOut() throws Exception {
        HttpResponse<String> r = fixture.post("/v1/completions",
                "{\"model\": \"tiny-chat\", \"prompt\": \"Hello\", \"max_tokens\": 8}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode choice = ServerFixture.json(r).get("choices").get(0);
        assertEquals("length", choice.get("finish_reason").asText());
        assertTrue(choice.get("timed_out").asBoolean(), choice.toString());
        assertEquals("", choice.get("text").asText());
        assertEquals(0, ServerFixture.json(r).get("usage").get("completion_tokens").asInt());
    }

    @Test
    void aTimedOutStreamEndsWithALengthChunkAndDone() throws Exception {
        List<String> events = fixture.postStreaming("/v1/chat/completions", "{\"model\": \"tiny-chat\", \"stream\": true, "
                + "\"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}], \"max_tokens\": 8}");
        assertEquals("[DONE]", events.getLast(), events.toString());
        JsonNode last = ServerFixture.JSON.readTree(events.get(events.size() - 2)).get("choices").get(0);
        assertEquals("length", last.get("finish_reason").asText(), events.toString());
        assertTrue(last.get("timed_out").asBoolean(), events.toString());
    }

    @Test
    void theOfficialClientReadsATimedOutChatAsLength() {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(fixture.server.uri() + "v1").apiKey("not-checked")
                .maxRetries(0).timeout(Duration.ofSeconds(30)).build();
        try {
            ChatCompletion completion = client.chat().completions().create(ChatCompletionCreateParams.builder()
                    .model(ServerFixture.BASE).addUserMessage("Hello").maxCompletionTokens(8).build());
            completion.validate();
            ChatCompletion.Choice choice = completion.choices().get(0);
            assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, choice.finishReason());
            assertEquals(JsonValue.from(true), choice._additionalProperties().get("timed_out"));
        } finally {
            client.close();
        }
    }
}
