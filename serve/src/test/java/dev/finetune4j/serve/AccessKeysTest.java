package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API key guards {@code /v1} and {@code /metrics}, the admin key {@code /admin} (the API key does when no admin key is set),
 * {@code /health} stays open, and a missing or wrong key is 401 with OpenAI's error body, also for the official
 * client.
 */
class AccessKeysTest {
    private static final String API_KEY = "sk-test-api-0123456789";
    private static final String ADMIN_KEY = "sk-test-admin-9876543210";
    private static ServerFixture both;
    private static ServerFixture apiOnly;

    @BeforeAll
    static void start() {
        both = new ServerFixture(b -> b, true, s -> s.apiKey(API_KEY).adminKey(ADMIN_KEY));
        apiOnly = new ServerFixture(b -> b, true, s -> s.apiKey(API_KEY));
    }

    @AfterAll
    static void stop() {
        both.close();
        apiOnly.close();
    }

    private static HttpResponse<String> send(ServerFixture f, String method, String path, String body, String authorization)
            throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(f.server.uri().resolve(path)).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            r.header("Authorization", authorization);
        }
        return f.http.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void assertUnauthorized(HttpResponse<String> r) throws Exception {
        assertEquals(401, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"), r.headers().map().toString());
        JsonNode error = ServerFixture.json(r).get("error");
        assertEquals("invalid_api_key", error.get("code").asText());
        assertEquals("invalid_request_error", error.get("type").asText());
        assertFalse(error.get("message").asText().contains(API_KEY), "the key must not be echoed: " + error);
    }

    @Test
    void theApiRoutesNeedTheApiKey() throws Exception {
        assertUnauthorized(send(both, "GET", "/v1/models", null, null));
        assertUnauthorized(send(both, "GET", "/v1/models", null, "Bearer sk-wrong"));
        assertUnauthorized(send(both, "GET", "/v1/models", null, "Bearer " + API_KEY + "x"));
        assertUnauthorized(send(both, "GET", "/v1/models", null, "Basic " + API_KEY));
        assertUnauthorized(send(both, "GET", "/v1/models", null, "Bearer " + ADMIN_KEY));
        assertUnauthorized(send(both, "POST", "/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": \"Hi\"}", null));
        assertUnauthorized(send(both, "POST", "/v1/models", "{}", null)); // the key is checked before the method

        assertEquals(200, send(both, "GET", "/v1/models", null, "Bearer " + API_KEY).statusCode());
        assertEquals(200, send(both, "GET", "/v1/models", null, "bearer " + API_KEY).statusCode());
        HttpResponse<String> completion = send(both, "POST", "/v1/completions",
                "{\"model\": \"tiny-chat\", \"prompt\": \"Hi\", \"max_tokens\": 2}", "Bearer " + API_KEY);
        assertEquals(200, completion.statusCode(), completion.body());
        assertEquals(200, send(both, "GET", "/health", null, null).statusCode());
        assertUnauthorized(send(both, "GET", "/metrics", null, null));
        assertEquals(200, send(both, "GET", "/metrics", null, "Bearer " + API_KEY).statusCode(), "a scraper's bearer token");
    }

    @Test
    void theAdminRoutesNeedTheAdminKeyWhenOneIsSetElseTheApiKey() throws Exception {
        String load = "{\"name\": \"again\", \"path\": "
                + ServerFixture.JSON.writeValueAsString(ServerFixture.adapterDir().toString()) + "}";
        assertUnauthorized(send(both, "POST", "/admin/adapters", load, null));
        assertUnauthorized(send(both, "POST", "/admin/adapters", load, "Bearer " + API_KEY));
        assertUnauthorized(send(both, "DELETE", "/admin/adapters/lora", null, "Bearer " + API_KEY));
        assertUnauthorized(send(both, "GET", "/admin/adapters/lora", null, null));
        HttpResponse<String> loaded = send(both, "POST", "/admin/adapters", load, "Bearer " + ADMIN_KEY);
        assertEquals(200, loaded.statusCode(), loaded.body());
        assertEquals(200, send(both, "DELETE", "/admin/adapters/again", null, "Bearer " + ADMIN_KEY).statusCode());

        assertUnauthorized(send(apiOnly, "DELETE", "/admin/adapters/none", null, null));
        assertUnauthorized(send(apiOnly, "DELETE", "/admin/adapters/none", null, "Bearer " + ADMIN_KEY));
        assertEquals(404, send(apiOnly, "DELETE", "/admin/adapters/none", null, "Bearer " + API_KEY).statusCode());
    }

    @Test
    void aServerWithOnlyAnAdminKeyLeavesTheApiOpen() throws Exception {
        try (ServerFixture adminOnly = new ServerFixture(b -> b, true, s -> s.adminKey(ADMIN_KEY))) {
            assertEquals(200, send(adminOnly, "GET", "/v1/models", null, null).statusCode());
            assertUnauthorized(send(adminOnly, "DELETE", "/admin/adapters/lora", null, null));
            assertEquals(200, send(adminOnly, "DELETE", "/admin/adapters/lora", null, "Bearer " + ADMIN_KEY).statusCode());
        }
    }

    @Test
    void theOfficialClientSendsItsApiKey() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(ServerFixture.BASE)
                .addUserMessage("Hello there").maxCompletionTokens(4).temperature(0).build();
        OpenAIClient right = client(API_KEY);
        OpenAIClient wrong = client("sk-not-the-key");
        try {
            ChatCompletion completion = right.chat().completions().create(params);
            completion.validate();
            assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, completion.choices().get(0).finishReason());
            UnauthorizedException e = assertThrows(UnauthorizedException.class, () -> wrong.chat().completions().create(params));
            assertEquals(401, e.statusCode());
            assertTrue(e.getMessage().contains("not the server's API key"), e.getMessage());
        } finally {
            right.close();
            wrong.close();
        }
    }

    private static OpenAIClient client(String key) {
        return OpenAIOkHttpClient.builder().baseUrl(both.server.uri() + "v1").apiKey(key).maxRetries(0)
                .timeout(Duration.ofSeconds(30)).build();
    }

    @Test
    void aBlankKeyOrOneAHeaderCannotCarryIsRefused() {
        IllegalArgumentException blank = assertThrows(IllegalArgumentException.class,
                () -> OpenAiServer.builder(both.engine).port(0).apiKey(" ").start());
        assertTrue(blank.getMessage().contains("apiKey must not be blank"), blank.getMessage());
        IllegalArgumentException space = assertThrows(IllegalArgumentException.class,
                () -> OpenAiServer.builder(both.engine).port(0).adminKey("two words").start());
        assertTrue(space.getMessage().contains("adminKey must be printable ASCII"), space.getMessage());
    }
}
