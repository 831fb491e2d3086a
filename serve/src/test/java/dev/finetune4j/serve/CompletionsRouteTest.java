package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code POST /v1/completions} over loopback: prompt forms, greedy text against core's Generator, streaming. */
class CompletionsRouteTest {
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
    void greedyTextPromptMatchesTheGeneratorsTokensAndText() throws Exception {
        long[] prompt = fixture.tokenizer.encode("Hello world");
        long[] expected = ServerFixture.greedyReference(prompt, 12, false, fixture.tokenizer.eosTokenId().getAsLong());

        HttpResponse<String> r = fixture.post("/v1/completions",
                "{\"model\": \"tiny-chat\", \"prompt\": \"Hello world\", \"max_tokens\": 12, \"temperature\": 0}");

        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = ServerFixture.json(r);
        assertEquals("text_completion", body.get("object").asText());
        assertEquals("tiny-chat", body.get("model").asText());
        JsonNode choice = body.get("choices").get(0);
        assertEquals(fixture.tokenizer.decode(expected), choice.get("text").asText());
        assertEquals(List.of(toList(expected)), List.of(ids(choice.get("token_ids"))));
        assertEquals("length", choice.get("finish_reason").asText());
        assertEquals(prompt.length, body.get("usage").get("prompt_tokens").asInt());
        assertEquals(12, body.get("usage").get("completion_tokens").asInt());
        assertEquals(prompt.length + 12, body.get("usage").get("total_tokens").asInt());
    }

    private static List<Long> toList(long[] ids) {
        return java.util.Arrays.stream(ids).boxed().toList();
    }

    private static List<Long> ids(JsonNode array) {
        List<Long> ids = new java.util.ArrayList<>();
        array.forEach(n -> ids.add(n.asLong()));
        return ids;
    }
}
