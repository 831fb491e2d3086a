package dev.finetune4j.serve;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import dev.finetune4j.core.tokenizer.ChatMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official OpenAI Java client ({@code com.openai:openai-java}) against the server: a chat request and a streamed
 * chat request, their text equal to core's Generator on the chat-template prompt; log-probabilities read through the
 * client's own models of both routes.
 */
class OpenAiJavaClientTest {
    private static ServerFixture fixture;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        fixture = ServerFixture.start();
        client = OpenAIOkHttpClient.builder().baseUrl(fixture.server.uri() + "v1").apiKey("not-checked").maxRetries(0)
                .timeout(Duration.ofSeconds(30)).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        fixture.close();
    }

    private static ChatCompletionCreateParams params(String model) {
        return ChatCompletionCreateParams.builder().model(model).addUserMessage("Hello there").maxCompletionTokens(10)
                .temperature(0).build();
    }

    private static String expectedText(boolean withAdapter) {
        long[] prompt = fixture.tokenizer.encodeChat(List.of(ChatMessage.user("Hello there")), true);
        return fixture.tokenizer.decode(ServerFixture.greedyReference(prompt, 10, withAdapter,
                fixture.tokenizer.eosTokenId().getAsLong()));
    }

    @Test
    void chatCompletionFromTheOfficialClientEqualsTheGenerator() {
        ChatCompletion completion = client.chat().completions().create(params(ServerFixture.BASE));

        completion.validate(); // every field the client's model requires is there, of the right type
        assertEquals(1, completion.choices().size());
        ChatCompletion.Choice choice = completion.choices().get(0);
        assertEquals(expectedText(false), choice.message().content().orElseThrow());
        assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, choice.finishReason());
        assertFalse(choice._additionalProperties().containsKey("timed_out"), "max_tokens, not the time limit");
        assertEquals(10, completion.usage().orElseThrow().completionTokens());
        assertEquals(ServerFixture.BASE, completion.model());
    }

    @Test
    void streamedChatFromTheOfficialClientAddsUpToTheAdaptersGreedyText() {
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params(ServerFixture.ADAPTER))) {
            stream.stream().forEach(chunks::add);
        }

        StringBuilder text = new StringBuilder();
        List<ChatCompletionChunk.Choice.FinishReason> finishes = new ArrayList<>();
        for (ChatCompletionChunk chunk : chunks) {
            chunk.validate();
            assertEquals("chat.completion.chunk", chunk._object_().asString().orElseThrow());
            for (ChatCompletionChunk.Choice c : chunk.choices()) {
                c.delta().content().ifPresent(text::append);
                c.finishReason().ifPresent(finishes::add);
            }
        }
        assertTrue(chunks.size() >= 3, "a role chunk, text chunks and a finish chunk, got " + chunks.size());
        assertEquals(expectedText(true), text.toString());
        assertEquals(List.of(ChatCompletionChunk.Choice.FinishReason.LENGTH), finishes);
    }

    @Test
    void theClientReadsChatLogprobsWholeAndStreamed() {
        ChatCompletionCreateParams asking = params(ServerFixture.BASE).toBuilder().logprobs(true).topLogprobs(3).build();
        ChatCompletion completion = client.chat().completions().create(asking);
        completion.validate();
        ChatCompletion.Choice choice = completion.choices().get(0);
        List<ChatCompletionTokenLogprob> content = choice.logprobs().orElseThrow().content().orElseThrow();
        assertEquals(10, content.size());
        StringBuilder joined = new StringBuilder();
        for (ChatCompletionTokenLogprob t : content) {
            assertEquals(3, t.topLogprobs().size());
            assertEquals(t.logprob(), t.topLogprobs().get(0).logprob(), 0, "greedy: the chosen token is the most likely");
            joined.append(t.token());
        }
        assertEquals(choice.message().content().orElseThrow(), joined.toString());

        List<ChatCompletionTokenLogprob> streamed = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(asking)) {
            stream.stream().forEach(chunk -> {
                chunk.validate();
                chunk.choices().forEach(c -> c.logprobs().flatMap(l -> l.content()).ifPresent(streamed::addAll));
            });
        }
        assertEquals(content, streamed);
    }

    @Test
    void theClientReadsLegacyCompletionLogprobs() {
        var completion = client.completions().create(CompletionCreateParams.builder().model(ServerFixture.BASE)
                .prompt("Hello there").maxTokens(6).temperature(0).logprobs(2).build());
        completion.validate();
        CompletionChoice.Logprobs logprobs = completion.choices().get(0).logprobs().orElseThrow();
        List<String> tokens = logprobs.tokens().orElseThrow();
        assertEquals(6, tokens.size());
        assertEquals(6, logprobs.tokenLogprobs().orElseThrow().size());
        assertEquals(6, logprobs.topLogprobs().orElseThrow().size());
        assertEquals(0L, logprobs.textOffset().orElseThrow().get(0));
        assertEquals(completion.choices().get(0).text(), String.join("", tokens));
    }
}
