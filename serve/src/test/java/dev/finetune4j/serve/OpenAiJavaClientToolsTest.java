package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import dev.finetune4j.core.generate.json.TokenBytes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official OpenAI Java client with tools: it reads a forced call's {@code tool_calls}, whole and streamed (its
 * accumulator joining the argument pieces), into its own models, and sends the call and its result back in the next
 * turn.
 */
class OpenAiJavaClientToolsTest {
    private static ServerFixture fixture;
    private static OpenAIClient client;
    private static ChatCompletionCreateParams.LogitBias noWhitespace;

    @BeforeAll
    static void start() {
        fixture = ServerFixture.withToolsTemplate(b -> b);
        client = OpenAIOkHttpClient.builder().baseUrl(fixture.server.uri() + "v1").apiKey("not-checked").maxRetries(0)
                .timeout(Duration.ofSeconds(30)).build();
        // the random model favours whitespace, which JSON allows between tokens: a bias keeps its answers short
        ChatCompletionCreateParams.LogitBias.Builder bias = ChatCompletionCreateParams.LogitBias.builder();
        TokenBytes vocab = TokenBytes.of(fixture.tokenizer);
        for (int id = 0; id < vocab.size(); id++) {
            byte[] b = vocab.bytes(id);
            if (b != null && b.length > 0 && new String(b, StandardCharsets.UTF_8).isBlank()) {
                bias.putAdditionalProperty(Integer.toString(id), JsonValue.from(-100));
            }
        }
        noWhitespace = bias.build();
    }

    @AfterAll
    static void stop() {
        client.close();
        fixture.close();
    }

    private static ChatCompletionCreateParams.Builder weatherCall() {
        FunctionParameters parameters = FunctionParameters.builder()
                .putAdditionalProperty("type", JsonValue.from("object"))
                .putAdditionalProperty("properties", JsonValue.from(Map.of("unit", Map.of("enum", List.of("C", "F")))))
                .putAdditionalProperty("required", JsonValue.from(List.of("unit")))
                .build();
        return ChatCompletionCreateParams.builder().model(ServerFixture.BASE).addUserMessage("Weather?")
                .addFunctionTool(FunctionDefinition.builder().name("get_weather").description("Weather").parameters(parameters).build())
                .toolChoice(ChatCompletionNamedToolChoice.builder()
                        .function(ChatCompletionNamedToolChoice.Function.builder().name("get_weather").build()).build())
                .maxCompletionTokens(40).temperature(0).logitBias(noWhitespace);
    }

    @Test
    void theClientReadsAToolCallAndSendsItBackWithItsResult() throws Exception {
        ChatCompletion completion = client.chat().completions().create(weatherCall().build());

        completion.validate();
        ChatCompletion.Choice choice = completion.choices().get(0);
        assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
        assertTrue(choice.message().content().isEmpty());
        ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().orElseThrow().get(0).asFunction();
        assertEquals("get_weather", call.function().name());
        JsonNode arguments = ServerFixture.JSON.readTree(call.function().arguments());
        assertTrue(Set.of("C", "F").contains(arguments.get("unit").asText()), call.function().arguments());

        ChatCompletion next = client.chat().completions().create(weatherCall()
                .addMessage(choice.message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("rain").build())
                .toolChoice(ChatCompletionToolChoiceOption.Auto.NONE).maxCompletionTokens(4).build());
        next.validate();
        assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, next.choices().get(0).finishReason());
    }

    @Test
    void theClientsAccumulatorReassemblesAStreamedToolCallAsTheWholeAnswerReportsIt() {
        List<ChatCompletionChunk.Choice.Delta.ToolCall> deltas = new ArrayList<>();
        List<ChatCompletionChunk.Choice.FinishReason> finishes = new ArrayList<>();
        ChatCompletionAccumulator accumulator = ChatCompletionAccumulator.create();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(weatherCall().build())) {
            stream.stream().forEach(chunk -> {
                chunk.validate();
                accumulator.accumulate(chunk);
                ChatCompletionChunk.Choice choice = chunk.choices().get(0);
                choice.delta().toolCalls().ifPresent(deltas::addAll);
                choice.finishReason().ifPresent(finishes::add);
            });
        }

        ChatCompletionChunk.Choice.Delta.ToolCall first = deltas.getFirst();
        assertEquals(0, first.index());
        assertEquals("get_weather", first.function().orElseThrow().name().orElseThrow());
        assertEquals("", first.function().orElseThrow().arguments().orElseThrow());
        assertTrue(deltas.size() > 2, "arguments in pieces: " + deltas);
        deltas.subList(1, deltas.size()).forEach(d -> assertTrue(d.id().isEmpty() && d.function().orElseThrow().name().isEmpty(), d.toString()));
        assertEquals(List.of(ChatCompletionChunk.Choice.FinishReason.TOOL_CALLS), finishes);

        ChatCompletionMessageFunctionToolCall streamed = accumulator.chatCompletion().choices().get(0).message().toolCalls()
                .orElseThrow().get(0).asFunction();
        assertEquals(first.id().orElseThrow(), streamed.id());
        assertEquals("get_weather", streamed.function().name());
        // greedy decoding: the whole answer to the same request is the same call
        ChatCompletionMessageFunctionToolCall whole = client.chat().completions().create(weatherCall().build()).choices().get(0)
                .message().toolCalls().orElseThrow().get(0).asFunction();
        assertEquals(whole.function().arguments(), streamed.function().arguments());
        assertTrue(streamed.function().arguments().matches("\\{\"unit\":\"[CF]\"}"), streamed.function().arguments());
    }
}
