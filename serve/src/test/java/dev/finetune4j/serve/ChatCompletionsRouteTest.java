package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.tokenizer.ChatMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code POST /v1/chat/completions} over loopback: the chat template, message forms, streaming chunk by chunk. */
class ChatCompletionsRouteTest {
    private static final String CONVERSATION = "[{\"role\": \"developer\", \"content\": \"Be brief.\"}, "
            + "{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Hi\"}, {\"type\": \"text\", \"text\": \" there\"}]}, "
            + "{\"role\": \"assistant\", \"content\": \"Hello!\"}, {\"role\": \"user\", \"content\": \"你好\"}]";
    private static ServerFixture fixture;

    @BeforeAll
    static void start() {
        fixture = ServerFixture.start();
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    /** The greedy answer to CONVERSATION through the tokenizer's ChatML template, by core's Generator. */
    private static String expectedAnswer(int maxTokens) {
        long[] prompt = fixture.tokenizer.encodeChat(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi there"),
                ChatMessage.assistant("Hello!"), ChatMessage.user("你好")), true);
        return fixture.tokenizer.decode(ServerFixture.greedyReference(prompt, maxTokens, false,
                fixture.tokenizer.eosTokenId().getAsLong()));
    }

    @Test
    void aConversationGoesThroughTheChatTemplate() throws Exception {
        HttpResponse<String> r = fixture.post("/v1/chat/completions", "{\"model\": \"tiny-chat\", \"messages\": " + CONVERSATION
                + ", \"max_tokens\": 9, \"temperature\": 0}");

        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = ServerFixture.json(r);
        assertEquals("chat.completion", body.get("object").asText());
        assertTrue(body.get("id").asText().startsWith("chatcmpl-"));
        JsonNode message = body.get("choices").get(0).get("message");
        assertEquals("assistant", message.get("role").asText());
        assertEquals(expectedAnswer(9), message.get("content").asText());
    }

    @Test
    void aStreamedAnswerOpensWithTheRoleSendsDeltasAndEndsWithFinishAndDone() throws Exception {
        List<String> events = fixture.postStreaming("/v1/chat/completions", "{\"model\": \"tiny-chat\", \"messages\": "
                + CONVERSATION + ", \"max_completion_tokens\": 9, \"temperature\": 0, \"stream\": true}");

        assertEquals("[DONE]", events.getLast());
        List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(ChatCompletionsRouteTest::parse).toList();
        JsonNode opening = chunks.getFirst().get("choices").get(0);
        assertEquals("assistant", opening.get("delta").get("role").asText());
        assertEquals("", opening.get("delta").get("content").asText());
        JsonNode finish = chunks.getLast().get("choices").get(0);
        assertEquals("length", finish.get("finish_reason").asText());
        assertTrue(finish.get("delta").isEmpty());
        StringBuilder text = new StringBuilder();
        for (JsonNode chunk : chunks) {
            assertEquals("chat.completion.chunk", chunk.get("object").asText());
            assertTrue(chunk.get("usage") == null, "no usage without stream_options.include_usage");
            text.append(chunk.get("choices").get(0).get("delta").path("content").asText());
        }
        for (JsonNode chunk : chunks.subList(1, chunks.size() - 1)) {
            assertTrue(chunk.get("choices").get(0).get("finish_reason").isNull());
            assertTrue(!chunk.get("choices").get(0).get("delta").get("content").asText().isEmpty(), "no empty deltas");
        }
        assertEquals(expectedAnswer(9), text.toString());
    }

    /** With n, a stream opens each choice with the role and carries each choice's deltas under its index. */
    @Test
    void nStreamsEveryChoiceUnderItsIndex() throws Exception {
        String request = "{\"model\": \"tiny-chat\", \"messages\": " + CONVERSATION
                + ", \"max_tokens\": 6, \"temperature\": 1.5, \"seed\": 3, \"n\": 2";
        JsonNode whole = ServerFixture.json(fixture.post("/v1/chat/completions", request + "}"));
        List<String> events = fixture.postStreaming("/v1/chat/completions", request + ", \"stream\": true}");

        StringBuilder[] texts = {new StringBuilder(), new StringBuilder()};
        int[] roles = new int[2];
        int[] finishes = new int[2];
        for (String event : events.subList(0, events.size() - 1)) {
            JsonNode choice = parse(event).get("choices").get(0);
            int index = choice.get("index").asInt();
            texts[index].append(choice.get("delta").path("content").asText());
            roles[index] += choice.get("delta").has("role") ? 1 : 0;
            finishes[index] += choice.get("finish_reason").isNull() ? 0 : 1;
        }
        for (int i = 0; i < 2; i++) {
            assertEquals(1, roles[i]);
            assertEquals(1, finishes[i]);
            assertEquals(whole.get("choices").get(i).get("message").get("content").asText(), texts[i].toString());
            assertEquals(i, whole.get("choices").get(i).get("index").asInt());
        }
    }

    private static JsonNode parse(String event) {
        try {
            return ServerFixture.JSON.readTree(event);
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + event, e);
        }
    }
}
