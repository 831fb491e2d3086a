package dev.finetune4j.serve;

import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.serve.InferenceEngine;
import io.helidon.webserver.WebServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.util.HashSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * An OpenAI-compatible HTTP server in front of an {@link InferenceEngine}, on Helidon SE (each request on its own
 * virtual thread): {@code GET /v1/models}, {@code POST /v1/completions}, {@code POST /v1/chat/completions} (with
 * {@code "stream": true} as server-sent events), {@code GET /health}, {@code GET /metrics} (the engine's metrics in
 * Prometheus' text format), and {@code POST /admin/adapters},
 * {@code DELETE /admin/adapters/{name}} to load, replace and unload adapters while serving (names of letters,
 * digits, {@code . _ : -}, starting with a letter or digit, at most 128 characters). {@code model} names the base
 * model or a loaded adapter. Errors use OpenAI's body {@code {"error": {"message", "type", "param", "code"}}}:
 * 400 for malformed JSON and invalid parameters, 404 for an unknown model, 429 with {@code Retry-After} when the
 * engine's queue is full, 503 once the engine is closed. Prompts that cannot fit are refused with 400 before they are
 * tokenized: more than {@link Builder#maxPromptsPerRequest} prompts in one request, or a text longer than 256
 * characters for each token the engine's KV cache budget can hold. A request that runs into the engine's time limit
 * ends with {@code finish_reason} {@code "length"} and the extension field {@code "timed_out": true} in its choice,
 * keeping the text generated so far (OpenAI has no finish reason for a time limit, and its clients retry error
 * statuses). With {@link Builder#reasoningParser}, chat answers carry a reasoning model's thinking apart, as
 * {@code reasoning_content}.
 *
 * <pre>{@code
 * try (LanguageModel base = AutoModel.loadCausalLM(dir);
 *      HfTokenizer tokenizer = HfTokenizer.load(dir);
 *      InferenceEngine engine = InferenceEngine.builder(base).build();
 *      OpenAiServer server = OpenAiServer.builder(engine).modelName("qwen").tokenizer(tokenizer).port(8000).start()) {
 *     System.out.println("serving on " + server.uri());
 *     // ... until the application stops
 * }
 * }</pre>
 *
 * <p>Keys: with {@link Builder#apiKey} set, every {@code /v1} route and {@code /metrics} need {@code Authorization: Bearer <key>} (what
 * OpenAI's clients send as their api key); with {@link Builder#adminKey} set, the {@code /admin} routes need that key
 * instead of the API key (without it they take the API key). A missing or wrong key gets 401 with OpenAI's error
 * body ({@code "code": "invalid_api_key"}); keys are compared in constant time. {@code /health} stays open. The
 * admin routes read adapter folders from the server's disk by path: the server listens on the loopback address
 * unless told otherwise; beyond the machine, set an admin key and put TLS in front (the keys travel in headers).
 *
 * <p>Thread safety: the server handles requests concurrently; {@link #close()} may be called from any thread.
 * Closing the server neither closes the engine nor the tokenizer: their owner does (after the server).
 */
public final class OpenAiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OpenAiServer.class);
    /** Larger request bodies are refused (413) before they are read. */
    private static final long MAX_REQUEST_BYTES = 16L << 20;

    private final WebServer server;
    private final URI uri;

    private OpenAiServer(WebServer server, String host) {
        this.server = server;
        this.uri = URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + server.port() + "/");
    }

    /**
     * A builder for a server in front of {@code engine}.
     *
     * @param engine the engine that generates; its adapters are the models served besides the base
     * @return a builder: loopback address, port 8000, base model named "base", no tokenizer
     */
    public static Builder builder(InferenceEngine engine) {
        return new Builder(engine);
    }

    /**
     * The port the server listens on (the ephemeral port chosen when built with port 0).
     *
     * @return the port
     */
    public int port() {
        return server.port();
    }

    /**
     * The server's base address, such as {@code http://127.0.0.1:8000/}; OpenAI clients take {@code uri + "v1"}.
     *
     * @return the address
     */
    public URI uri() {
        return uri;
    }

    /** Stops listening and ends the connections; idempotent. The engine is left running for its owner to close. */
    @Override
    public void close() {
        if (server.isRunning()) {
            server.stop();
            LOG.info("server on {} stopped", uri);
        }
    }

    /** Builder of {@link OpenAiServer}; not thread-safe. */
    public static final class Builder {
        private final InferenceEngine engine;
        private Tokenizer tokenizer;
        private String modelName = "base";
        private Set<Long> stopTokens = Set.of();
        private String host = "127.0.0.1";
        private int port = 8000;
        private String apiKey;
        private String adminKey;
        private int maxPromptsPerRequest = PromptLimits.DEFAULT_MAX_PROMPTS;
        private ToolCallFormat toolCallFormat;
        private ReasoningParser reasoningParser = ReasoningParser.NONE;

        private Builder(InferenceEngine engine) {
            this.engine = Objects.requireNonNull(engine, "engine");
        }

        /**
         * The model's tokenizer: text prompts, chat (through its chat template), stop strings and the text of answers
         * need it; without one, only {@code /v1/completions} with token-id prompts works.
         *
         * @param value the tokenizer, or null for none; its end-of-sequence id ends every generation
         * @return this builder
         */
        public Builder tokenizer(Tokenizer value) {
            tokenizer = value;
            return this;
        }

        /**
         * The name clients give as {@code model} for the base model (adapters go by their loaded names).
         *
         * @param value a non-blank name, for example the model folder's name
         * @return this builder
         */
        public Builder modelName(String value) {
            modelName = value;
            return this;
        }

        /**
         * Token ids that end every generation besides the tokenizer's end of sequence, for example the ids of
         * {@code eos_token_id} in the model's config.json.
         *
         * @param value the ids
         * @return this builder
         */
        public Builder stopTokens(Set<Long> value) {
            stopTokens = Set.copyOf(value);
            return this;
        }

        /**
         * The address to listen on.
         *
         * @param value a host name or IP address; "0.0.0.0" listens on every interface
         * @return this builder
         */
        public Builder host(String value) {
            host = value;
            return this;
        }

        /**
         * The port to listen on.
         *
         * @param value 0 to 65535; 0 picks a free port ({@link OpenAiServer#port()} tells which)
         * @return this builder
         */
        public Builder port(int value) {
            port = value;
            return this;
        }

        /**
         * The key that {@code /v1} routes need as {@code Authorization: Bearer <key>} (and the {@code /admin} routes
         * when no {@link #adminKey} is set).
         *
         * @param value printable ASCII without spaces, or null for open routes (the default)
         * @return this builder
         */
        public Builder apiKey(String value) {
            apiKey = value;
            return this;
        }

        /**
         * The key that the {@code /admin} routes (load, replace, unload adapters) need as
         * {@code Authorization: Bearer <key>}, so that clients holding the API key cannot load folders from the
         * server's disk.
         *
         * @param value printable ASCII without spaces, or null to let the {@link #apiKey} guard them (the default)
         * @return this builder
         */
        public Builder adminKey(String value) {
            adminKey = value;
            return this;
        }

        /**
         * The most prompts one {@code /v1/completions} request may carry ({@code prompt} as an array of texts or of
         * token-id arrays); a request with more is refused with 400 before any prompt is tokenized. Keep it at most
         * the engine's {@code maxQueuedRequests}: each prompt waits in the engine's queue, and a request with more
         * prompts than the queue holds would get 429 on every retry.
         *
         * @param value at least 1; default 64, the engine's default {@code maxQueuedRequests}
         * @return this builder
         */
        public Builder maxPromptsPerRequest(int value) {
            maxPromptsPerRequest = value;
            return this;
        }

        /**
         * How the model writes function calls, read out of its answers when a chat request has {@code tools} with
         * {@code tool_choice} {@code "auto"} (vLLM's {@code --tool-call-parser}). The forced choices
         * ({@code "required"}, a named function) constrain the output instead and need no format.
         *
         * @param value {@link ToolCallFormat#HERMES}, {@link ToolCallFormat#LLAMA3_JSON}, {@link ToolCallFormat#MISTRAL},
         *              {@link ToolCallFormat#MISTRAL_V11}, {@link ToolCallFormat#GRANITE} or
         *              {@link ToolCallFormat#QWEN3_CODER} (its parameters typed by each request's tools' schemas);
         *              null (the default) to tell it from the tokenizer's chat template ({@link ToolCallFormat#detect}),
         *              and to refuse {@code "auto"} when the template shows none
         * @return this builder
         */
        public Builder toolCallFormat(ToolCallFormat value) {
            toolCallFormat = value;
            return this;
        }

        /**
         * Whether chat answers return a reasoning model's thinking ({@code <think> ... </think>}) apart, as
         * {@code message.reasoning_content} and streamed {@code delta.reasoning_content} (vLLM's
         * {@code --reasoning-parser}); tool calls are then read from the answer after the thinking only. The rules are
         * {@link ReasoningParser}'s. {@code /v1/completions} always returns the text as generated.
         *
         * @param value {@link ReasoningParser#NONE} (the default, as in vLLM: the text as generated, thinking included,
         *              is {@code content}), {@link ReasoningParser#THINK}, or {@link ReasoningParser#AUTO} to split
         *              when the tokenizer's chat template mentions {@code <think>} (Qwen3, DeepSeek-R1 distills,
         *              SmolLM3)
         * @return this builder
         */
        public Builder reasoningParser(ReasoningParser value) {
            reasoningParser = Objects.requireNonNull(value, "reasoningParser: use ReasoningParser.NONE for none");
            return this;
        }

        /**
         * Starts the server.
         *
         * @return the running server
         * @throws IllegalArgumentException when the model name is blank, the port out of range, a key blank or not
         *                                  printable ASCII without spaces, or {@code maxPromptsPerRequest} below 1
         * @throws java.io.UncheckedIOException when the address cannot be bound (port in use)
         */
        public OpenAiServer start() {
            if (modelName == null || modelName.isBlank()) {
                throw new IllegalArgumentException("modelName must not be blank: clients send it as 'model'");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0 (any free port) to 65535, got " + port);
            }
            if (maxPromptsPerRequest < 1) {
                throw new IllegalArgumentException("maxPromptsPerRequest must be >= 1, got " + maxPromptsPerRequest);
            }
            AccessKeys keys = new AccessKeys(apiKey, adminKey);
            Set<Long> stops = new HashSet<>(stopTokens);
            if (tokenizer != null) {
                tokenizer.eosTokenId().ifPresent(stops::add);
            }
            ServedVocabulary vocabulary = new ServedVocabulary(tokenizer);
            ToolCallFormat calls = toolCallFormat != null || tokenizer == null ? toolCallFormat
                    : ToolCallFormat.detect(tokenizer.chatTemplate()).orElse(null);
            ReasoningParser reasoning = reasoningParser.resolve(tokenizer == null ? null : tokenizer.chatTemplate());
            ServedModels models = new ServedModels(engine, modelName, tokenizer, stops,
                    PromptLimits.of(engine, maxPromptsPerRequest), vocabulary, new ResponseFormats(vocabulary),
                    new ToolChoices(calls, vocabulary), reasoning);
            WebServer server = WebServer.builder()
                    .host(host)
                    .port(port)
                    .shutdownHook(false) // the owner closes the server (the CLI's shutdown hook does)
                    .maxPayloadSize(MAX_REQUEST_BYTES)
                    .routing(routing -> OpenAiRoutes.register(routing, models, keys))
                    .build()
                    .start();
            OpenAiServer started = new OpenAiServer(server, host);
            LOG.info("serving '{}' and adapters {} on {} ({}, {}; tool calls read as {}; reasoning parser {})", modelName,
                    engine.adapterNames(),
                    started.uri, apiKey == null ? "/v1 open" : "/v1 needs the API key", adminKey != null
                            ? "/admin needs the admin key" : apiKey != null ? "/admin needs the API key" : "/admin open",
                    calls == null ? "nothing (no known format in the chat template)" : calls.name(),
                    reasoning.name().toLowerCase(Locale.ROOT));
            return started;
        }
    }
}
