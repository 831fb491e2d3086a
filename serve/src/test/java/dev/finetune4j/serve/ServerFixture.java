package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.generate.json.TokenBytes;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.serve.InferenceEngine;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A server on loopback over the tiny chat fixture (a qwen2-shaped model with random weights, vocabulary 270, and
 * the byte-level BPE tokenizer of core's tests with a ChatML template), with its LoRA adapter loaded as "lora";
 * plus HTTP helpers and the greedy references computed by core's {@link Generator} on separate model copies.
 *
 * <p>The fixture was written once: {@code tiny-chat} by benchmarks' {@code RandomCheckpoint.write} (hidden 32,
 * 2 layers, 4 query and 2 key/value heads, 256 positions, tied embeddings, bf16, seed 13) with core's
 * {@code tokenizer/bytebpe} files copied beside it; {@code tiny-chat-lora} by {@code Peft.wrap} (r 4, alpha 16 on
 * q/v/o_proj, {@code LoraInit.RANDOM} so that it changes the output, seed 7) and {@code save};
 * {@code tiny-chat-tools} is {@code tiny-chat}'s tokenizer.json with a hand-written tools template
 * ({@link #toolsTokenizerDir()}), {@code tiny-chat-think} the same with a ChatML template that opens {@code <think>}
 * in the generation prompt, as the DeepSeek-R1 distills' does.
 */
final class ServerFixture implements AutoCloseable {
    static final String BASE = "tiny-chat";
    static final String ADAPTER = "lora";
    static final ObjectMapper JSON = new ObjectMapper();

    final LanguageModel model;
    final HfTokenizer tokenizer;
    final InferenceEngine engine;
    final OpenAiServer server;
    final HttpClient http = HttpClient.newHttpClient();

    ServerFixture(UnaryOperator<InferenceEngine.Builder> engineSettings, boolean withTokenizer) {
        this(engineSettings, withTokenizer, b -> b);
    }

    ServerFixture(UnaryOperator<InferenceEngine.Builder> engineSettings, boolean withTokenizer,
                  UnaryOperator<OpenAiServer.Builder> serverSettings) {
        this(engineSettings, withTokenizer, modelDir(), serverSettings);
    }

    private ServerFixture(UnaryOperator<InferenceEngine.Builder> engineSettings, boolean withTokenizer, Path tokenizerDir,
                          UnaryOperator<OpenAiServer.Builder> serverSettings) {
        model = AutoModel.loadCausalLM(modelDir());
        tokenizer = HfTokenizer.load(tokenizerDir);
        engine = engineSettings.apply(InferenceEngine.builder(model)).build();
        engine.loadAdapter(ADAPTER, adapterDir());
        server = serverSettings.apply(OpenAiServer.builder(engine).modelName(BASE).tokenizer(withTokenizer ? tokenizer : null)
                .port(0)).start();
    }

    static ServerFixture start() {
        return new ServerFixture(b -> b, true);
    }

    /** The tiny model with {@link #toolsTokenizerDir()}'s tokenizer. */
    static ServerFixture withToolsTemplate(UnaryOperator<OpenAiServer.Builder> serverSettings) {
        return new ServerFixture(b -> b, true, toolsTokenizerDir(), serverSettings);
    }

    /** The tiny model with {@link #thinkingTokenizerDir()}'s tokenizer. */
    static ServerFixture withThinkingTemplate(UnaryOperator<OpenAiServer.Builder> serverSettings) {
        return new ServerFixture(b -> b, true, thinkingTokenizerDir(), serverSettings);
    }

    static Path modelDir() {
        return resource("/tiny-chat");
    }

    /**
     * The same tokenizer with a short Hermes-style chat template that writes tools, calls
     * ({@code <tool_call>{"name": ..., "arguments": ...}</tool_call>}) and results: the model has 256 positions,
     * too few for a real model's tool prompt.
     */
    static Path toolsTokenizerDir() {
        return resource("/tiny-chat-tools");
    }

    /** The same tokenizer with ChatML whose generation prompt ends with {@code <think>\n}. */
    static Path thinkingTokenizerDir() {
        return resource("/tiny-chat-think");
    }

    static Path adapterDir() {
        return resource("/tiny-chat-lora");
    }

    private static Path resource(String name) {
        try {
            return Path.of(ServerFixture.class.getResource(name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(server.uri().resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(server.uri().resolve(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> delete(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(server.uri().resolve(path)).DELETE().build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * POSTs and reads the answer as an event stream line by line as it arrives; returns the {@code data:} payloads
     * ({@code [DONE]} included as text).
     */
    List<String> postStreaming(String path, String body) throws IOException, InterruptedException {
        HttpResponse<java.util.stream.Stream<String>> response = http.send(HttpRequest.newBuilder(server.uri().resolve(path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
        if (response.statusCode() != 200) {
            throw new AssertionError("status " + response.statusCode() + ": " + String.join("\n", response.body().toList()));
        }
        if (!response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")) {
            throw new AssertionError("not an event stream: " + response.headers().map());
        }
        List<String> events = new ArrayList<>();
        boolean blankExpected = false;
        for (String line : (Iterable<String>) response.body()::iterator) {
            if (blankExpected) {
                if (!line.isEmpty()) {
                    throw new AssertionError("an event must end with a blank line, got '" + line + "' after " + events);
                }
            } else if (!line.startsWith("data: ")) {
                throw new AssertionError("not an SSE data line: '" + line + "'");
            } else {
                events.add(line.substring("data: ".length()));
            }
            blankExpected = !blankExpected;
        }
        return events;
    }

    /** A {@code logit_bias} object (JSON text) that bans every token whose text is only whitespace. */
    String whitespaceBanned() {
        ObjectNode bias = JSON.createObjectNode();
        whitespaceBan().forEach((id, b) -> bias.put(Long.toString(id), b.intValue()));
        return bias.toString();
    }

    /** {@link #whitespaceBanned()} as the bias of a {@link GenerationConfig}. */
    Map<Long, Float> whitespaceBan() {
        TokenBytes vocab = TokenBytes.of(tokenizer);
        Map<Long, Float> bias = new LinkedHashMap<>();
        for (int id = 0; id < vocab.size(); id++) {
            byte[] b = vocab.bytes(id);
            if (b != null && b.length > 0 && new String(b, StandardCharsets.UTF_8).isBlank()) {
                bias.put((long) id, -100f);
            }
        }
        return bias;
    }

    static JsonNode json(HttpResponse<String> response) throws IOException {
        return JSON.readTree(response.body());
    }

    /** Asserts the status and the error body, and returns the error object. */
    static JsonNode assertError(HttpResponse<String> r, int status, String code, String param) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.headers().map().toString());
        JsonNode error = json(r).get("error");
        assertFalse(error.get("message").asText().isBlank());
        assertFalse(error.get("type").asText().isBlank());
        assertEquals(code, error.get("code").asText());
        assertEquals(param, error.get("param").isNull() ? null : error.get("param").asText());
        return error;
    }

    /** The greedy continuation of {@code prompt} by core's Generator on a fresh copy of the model (and adapter). */
    static long[] greedyReference(long[] prompt, int maxNewTokens, boolean withAdapter, long... stopTokens) {
        return greedyReference(prompt, maxNewTokens, withAdapter, Map.of(), stopTokens);
    }

    /** {@link #greedyReference(long[], int, boolean, long...)} under a {@code logit_bias}. */
    static long[] greedyReference(long[] prompt, int maxNewTokens, boolean withAdapter, Map<Long, Float> logitBias,
                                  long... stopTokens) {
        GenerationConfig greedy = GenerationConfig.builder().maxNewTokens(maxNewTokens).logitBias(logitBias)
                .stopTokens(Arrays.stream(stopTokens).boxed().collect(java.util.stream.Collectors.toSet())).build();
        try (LanguageModel copy = AutoModel.loadCausalLM(modelDir())) {
            long[] full = withAdapter ? Generator.generate(Peft.load(copy, adapterDir()), prompt, greedy)
                    : Generator.generate(copy, prompt, greedy);
            return Arrays.copyOfRange(full, prompt.length, full.length);
        }
    }

    @Override
    public void close() {
        server.close();
        engine.close();
        tokenizer.close();
        model.close();
    }
}
