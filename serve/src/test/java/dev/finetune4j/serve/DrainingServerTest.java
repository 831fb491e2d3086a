package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A server whose engine drains before a shutdown: {@code /health} answers 503 {@code "draining"} (a load balancer's
 * check then routes elsewhere) and new completions get 503, while the routes that read stay up.
 */
class DrainingServerTest {
    @Test
    void healthAndNewRequestsSay503WhileDraining() throws Exception {
        try (ServerFixture fixture = ServerFixture.start()) {
            assertEquals(200, fixture.get("/health").statusCode());
            assertTrue(fixture.engine.drain(Duration.ofSeconds(10)), "idle");
            HttpResponse<String> health = fixture.get("/health");
            assertEquals(503, health.statusCode(), health.body());
            assertEquals("draining", ServerFixture.json(health).get("status").asText());
            JsonNode error = ServerFixture.assertError(fixture.post("/v1/completions",
                    "{\"model\": \"tiny-chat\", \"prompt\": \"Hi\", \"max_tokens\": 2}"), 503, "engine_closed", null);
            assertTrue(error.get("message").asText().contains("draining"), error.toString());
            assertEquals(200, fixture.get("/v1/models").statusCode());
            assertEquals(200, fixture.get("/metrics").statusCode());
        }
    }
}
