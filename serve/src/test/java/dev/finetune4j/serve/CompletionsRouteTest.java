package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code POST /v1/completions} over loopback: the four prompt forms, greedy text and ids against core's Generator,
 * stop strings, the adapter, and streaming read chunk by chunk.
 */
class CompletionsRouteTest {
    private static ServerFixture fixture;
    private static long eos;

    @BeforeAll
    static void start() {
        fixture = ServerFixture.start();
        eos = fixture.tokenizer.eosTokenId().getAsLong();
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    private static JsonNode complete(String json) throws Exception {
        HttpResponse<String> r = fixture.post("/v1/completions", json);
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        return ServerFixture.json(r);
    }

    @Test
    void greedyTextPromptMatchesTheGeneratorsTokensAndText() throws Exception {
        long[] prompt = fixture.tokenizer.encode("Hello world");
        long[] expected = ServerFixture.greedyReference(prompt, 12, false, eos);

        JsonNode body = complete("{\"model\": \"tiny-chat\", \"prompt\": \"Hello world\", \"max_tokens\": 12, \"temperature\": 0}");

        assertEquals("text_completion", body.get("object").asText());
        assertEquals("tiny-chat", body.get("model").asText());
        assertTrue(body.get("id").asText().startsWith("cmpl-"));
        JsonNode choice = body.get("choices").get(0);
        assertEquals(fixture.tokenizer.decode(expected), choice.get("text").asText());
        assertEquals(boxed(expected), ids(choice.get("token_ids")));
        assertEquals(expected.length == 12 ? "length" : "stop", choice.get("finish_reason").asText());
        assertEquals(prompt.length, body.get("usage").get("prompt_tokens").asInt());
        assertEquals(expected.length, body.get("usage").get("completion_tokens").asInt());
        assertEquals(prompt.length + expected.length, body.get("usage").get("total_tokens").asInt());
    }

    @Test
    void everyPromptFormGivesOneChoicePerPromptInOrder() throws Exception {
        long[] first = fixture.tokenizer.encode("one");
        long[] second = fixture.tokenizer.encode("two three");
        String firstText = fixture.tokenizer.decode(ServerFixture.greedyReference(first, 6, false, eos));
        String secondText = fixture.tokenizer.decode(ServerFixture.greedyReference(second, 6, false, eos));
        String settings = "\"model\": \"tiny-chat\", \"max_tokens\": 6, \"temperature\": 0";

        JsonNode strings = complete("{" + settings + ", \"prompt\": [\"one\", \"two three\"]}");
        JsonNode ids = complete("{" + settings + ", \"prompt\": " + Arrays.toString(second) + "}");
        JsonNode idArrays = complete("{" + settings + ", \"prompt\": [" + Arrays.toString(first) + ", " + Arrays.toString(second) + "]}");

        assertEquals(List.of(firstText, secondText), texts(strings));
        assertEquals(List.of(secondText), texts(ids));
        assertEquals(List.of(firstText, secondText), texts(idArrays));
        assertEquals(List.of(0, 1), List.of(idArrays.get("choices").get(0).get("index").asInt(),
                idArrays.get("choices").get(1).get("index").asInt()));
        assertEquals(first.length + second.length, idArrays.get("usage").get("prompt_tokens").asInt());
    }

    @Test
    void aStopStringCutsTheTextBeforeItAndFinishesWithStop() throws Exception {
        String full = complete("{\"model\": \"tiny-chat\", \"prompt\": \"Hello world\", \"max_tokens\": 24, \"temperature\": 0}")
                .get("choices").get(0).get("text").asText();
        String stop = stopStringFrom(full);
        String expected = full.substring(0, full.indexOf(stop));

        JsonNode body = complete("{\"model\": \"tiny-chat\", \"prompt\": \"Hello world\", \"max_tokens\": 24, \"temperature\": 0, "
                + "\"stop\": [\"never appears \\u0000\", " + ServerFixture.JSON.writeValueAsString(stop) + "]}");

        JsonNode choice = body.get("choices").get(0);
        assertEquals(expected, choice.get("text").asText(), "full text: " + full + ", stop: " + stop);
        assertEquals("stop", choice.get("finish_reason").asText());
        assertTrue(body.get("usage").get("completion_tokens").asInt() < 24, "generation ended early at the stop string");
    }

    /** Two characters from the middle of {@code text} whose first occurrence is past its start. */
    private static String stopStringFrom(String text) {
        for (int at = text.length() / 2; at + 2 <= text.length(); at++) {
            String candidate = text.substring(at, at + 2);
            if (text.indexOf(candidate) > 0 && !candidate.contains("\uFFFD") && !Character.isSurrogate(candidate.charAt(0))
                    && !Character.isSurrogate(candidate.charAt(1))) {
                return candidate;
            }
        }
        throw new AssertionError("no stop string candidate in '" + text + "'");
    }

    @Test
    void theAdaptersNameSelectsTheAdapter() throws Exception {
        long[] prompt = fixture.tokenizer.encode("Hello world");
        String onBase = fixture.tokenizer.decode(ServerFixture.greedyReference(prompt, 12, false, eos));
        String onAdapter = fixture.tokenizer.decode(ServerFixture.greedyReference(prompt, 12, true, eos));
        assertNotEquals(onBase, onAdapter, "the fixture adapter must change the greedy text");

        JsonNode body = complete("{\"model\": \"lora\", \"prompt\": \"Hello world\", \"max_tokens\": 12, \"temperature\": 0}");

        assertEquals(onAdapter, body.get("choices").get(0).get("text").asText());
        assertEquals("lora", body.get("model").asText());
    }

    @Test
    void streamingSendsChunksThatAddUpToTheWholeAnswerThenUsageAndDone() throws Exception {
        String request = "{\"model\": \"tiny-chat\", \"prompt\": [\"Hello world\", \"one\"], \"max_tokens\": 16, \"temperature\": 0";
        JsonNode whole = complete(request + "}");

        List<String> events = fixture.postStreaming("/v1/completions", request + ", \"stream\": true, "
                + "\"stream_options\": {\"include_usage\": true}}");

        assertEquals("[DONE]", events.getLast());
        List<StringBuilder> texts = List.of(new StringBuilder(), new StringBuilder());
        List<List<Long>> tokens = List.of(new ArrayList<>(), new ArrayList<>());
        String[] finish = new String[2];
        String id = null;
        for (String event : events.subList(0, events.size() - 2)) {
            JsonNode chunk = ServerFixture.JSON.readTree(event);
            assertEquals("text_completion", chunk.get("object").asText());
            id = id == null ? chunk.get("id").asText() : id;
            assertEquals(id, chunk.get("id").asText(), "every chunk carries the completion's id");
            assertEquals(1, chunk.get("choices").size());
            JsonNode choice = chunk.get("choices").get(0);
            int index = choice.get("index").asInt();
            assertEquals(null, finish[index], "no chunk after a choice's finish");
            assertTrue(!choice.get("text").asText().isEmpty() || !choice.get("finish_reason").isNull(), "no empty chunks");
            texts.get(index).append(choice.get("text").asText());
            tokens.get(index).addAll(ids(choice.get("token_ids")));
            finish[index] = choice.get("finish_reason").isNull() ? null : choice.get("finish_reason").asText();
        }
        for (int i = 0; i < 2; i++) {
            JsonNode expected = whole.get("choices").get(i);
            assertEquals(expected.get("text").asText(), texts.get(i).toString());
            assertEquals(expected.get("finish_reason").asText(), finish[i]);
            assertEquals(ids(expected.get("token_ids")), tokens.get(i));
        }
        JsonNode usage = ServerFixture.JSON.readTree(events.get(events.size() - 2));
        assertEquals(0, usage.get("choices").size());
        assertEquals(whole.get("usage"), usage.get("usage"));
    }

    @Test
    void aClientThatHangsUpMidStreamHasItsGenerationCancelled() throws Exception {
        long completedBefore = fixture.engine.metrics().completedRequests();
        java.net.http.HttpResponse<java.io.InputStream> r = fixture.http.send(java.net.http.HttpRequest.newBuilder(
                        fixture.server.uri().resolve("/v1/completions")).POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"model\": \"tiny-chat\", \"prompt\": \"Hello\", \"max_tokens\": 200, \"temperature\": 0, \"stream\": true}"))
                .build(), java.net.http.HttpResponse.BodyHandlers.ofInputStream());
        try (java.io.InputStream body = r.body()) {
            assertTrue(body.read() >= 0, "the first event arrives");
        } // hang up after the first bytes of 200 tokens
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (fixture.engine.metrics().runningRequests() + fixture.engine.metrics().queueDepth() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        var metrics = fixture.engine.metrics();
        assertEquals(0, metrics.runningRequests() + metrics.queueDepth(), "the generation must stop when its client is gone");
        assertEquals(completedBefore + 1, metrics.completedRequests());
        assertTrue(metrics.generatedTokens() > 0);
    }

    @Test
    void seededSamplingRepeatsAndTopKOneIsGreedy() throws Exception {
        String sampled = "{\"model\": \"tiny-chat\", \"prompt\": \"Hello\", \"max_tokens\": 10, \"temperature\": 1.5, \"seed\": 7";
        String first = complete(sampled + "}").get("choices").get(0).get("text").asText();
        String again = complete(sampled + "}").get("choices").get(0).get("text").asText();
        String greedy = complete("{\"model\": \"tiny-chat\", \"prompt\": \"Hello\", \"max_tokens\": 10, \"temperature\": 0}")
                .get("choices").get(0).get("text").asText();
        String topK1 = complete(sampled + ", \"top_k\": 1, \"repetition_penalty\": 1.0}").get("choices").get(0).get("text").asText();

        assertEquals(first, again, "the same seed samples the same text");
        assertEquals(greedy, topK1, "top_k 1 keeps only the most likely token: greedy whatever the temperature");
    }

    /** Choice p * n + j of a request with n equals prompt p sampled alone with seed + j; prompts count once in usage. */
    @Test
    void nGivesEachPromptNChoicesSampledWithTheSeedPlusTheirPlace() throws Exception {
        String settings = "\"model\": \"tiny-chat\", \"max_tokens\": 8, \"temperature\": 1.5";
        JsonNode body = complete("{" + settings + ", \"prompt\": [\"Hello\", \"two three\"], \"n\": 3, \"seed\": 7}");

        List<String> expected = new ArrayList<>();
        for (String prompt : List.of("Hello", "two three")) {
            for (int j = 0; j < 3; j++) {
                expected.add(complete("{" + settings + ", \"prompt\": \"" + prompt + "\", \"seed\": " + (7 + j) + "}")
                        .get("choices").get(0).get("text").asText());
            }
        }
        assertEquals(expected, texts(body));
        for (int i = 0; i < 6; i++) {
            assertEquals(i, body.get("choices").get(i).get("index").asInt());
        }
        assertNotEquals(expected.get(0), expected.get(1), "different seeds should sample different texts here");
        int promptTokens = fixture.tokenizer.encode("Hello").length + fixture.tokenizer.encode("two three").length;
        assertEquals(promptTokens, body.get("usage").get("prompt_tokens").asInt());
    }

    /** OpenAI's penalties reach the engine, which picks the tokens core's Generator picks with them. */
    @Test
    void presenceAndFrequencyPenaltiesGiveTheGeneratorsTokens() throws Exception {
        long[] prompt = fixture.tokenizer.encode("Hello world");
        GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(12).presencePenalty(0.7f).frequencyPenalty(1.3f)
                .stopTokens(Set.of(eos)).build();
        long[] expected;
        try (LanguageModel copy = AutoModel.loadCausalLM(ServerFixture.modelDir())) {
            long[] full = Generator.generate(copy, prompt, cfg);
            expected = Arrays.copyOfRange(full, prompt.length, full.length);
        }
        assertNotEquals(boxed(expected), boxed(ServerFixture.greedyReference(prompt, 12, false, eos)),
                "the penalties should change this continuation");

        JsonNode body = complete("{\"model\": \"tiny-chat\", \"prompt\": \"Hello world\", \"max_tokens\": 12, "
                + "\"temperature\": 0, \"presence_penalty\": 0.7, \"frequency_penalty\": 1.3}");
        assertEquals(boxed(expected), ids(body.get("choices").get(0).get("token_ids")));
    }

    private static List<String> texts(JsonNode body) {
        List<String> texts = new ArrayList<>();
        body.get("choices").forEach(c -> texts.add(c.get("text").asText()));
        return texts;
    }

    private static List<Long> boxed(long[] ids) {
        return Arrays.stream(ids).boxed().toList();
    }

    private static List<Long> ids(JsonNode array) {
        List<Long> ids = new ArrayList<>();
        array.forEach(n -> ids.add(n.asLong()));
        return ids;
    }
}
