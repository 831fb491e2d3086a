package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.serve.EngineMetrics;
import dev.finetune4j.peft.serve.InferenceEngine;
import dev.finetune4j.serve.OpenAiServer;
import dev.finetune4j.serve.ReasoningParser;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code finetune4j serve}: an OpenAI-compatible HTTP server for a model folder and its adapters, until Ctrl-C (a
 * shutdown hook closes the server, then the engine, tokenizer and model).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a Hugging Face model folder and LoRA adapters over an OpenAI-compatible HTTP API: "
                + "GET /v1/models, POST /v1/completions, POST /v1/chat/completions (\"stream\": true for server-sent events), "
                + "GET /health, GET /metrics (Prometheus), and POST /admin/adapters {\"name\", \"path\"} / DELETE /admin/adapters/NAME to load and "
                + "unload adapters while serving. 'model' in a request is the base model's name or an adapter's.",
                "Without tokenizer.json in the model folder, only /v1/completions with token-id prompts works.",
                "QLoRA adapters given at start are served over the NF4-quantized base they were trained on, its linear "
                        + "weights in about 0.52 bytes a value instead of 2 (bf16) or 4 (f32) (--base-quantization); an "
                        + "adapter loaded later onto the other kind of base is served with a warning in the admin answer.",
                "Keys: set " + ServeCommand.API_KEY_ENV + " (or --api-key) and /v1 needs 'Authorization: Bearer <key>'; set "
                        + ServeCommand.ADMIN_KEY_ENV + " (or --admin-key) and /admin needs that key instead (else the API "
                        + "key). Prefer the environment variables: options show in process listings.",
                "Ctrl-C stops the server."},
        footer = {"", "Example: finetune4j serve --model models/Qwen2.5-0.5B-Instruct --adapter support=runs/support/adapter --port 8000",
                "  curl http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\",
                "    -d '{\"model\": \"support\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}'",
                "", "Exit codes: 1 failed while running (port in use), 2 bad input (missing folders, an adapter that does not fit)."})
final class ServeCommand implements Callable<Integer> {
    static final String API_KEY_ENV = "FINETUNE4J_API_KEY";
    static final String ADMIN_KEY_ENV = "FINETUNE4J_ADMIN_KEY";
    /** A day: longer deadlines help no request, and centuries overflowed the deadline arithmetic. */
    private static final long MAX_REQUEST_TIMEOUT_SECONDS = 86_400;

    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "DIR",
            description = "Base model folder (Hugging Face: config.json, model.safetensors, tokenizer.json).")
    Path model;

    @Option(names = {"-a", "--adapter"}, paramLabel = "NAME=DIR",
            description = "A LoRA adapter folder to serve under NAME; repeat for more.")
    Map<String, Path> adapters = new LinkedHashMap<>();

    @Option(names = "--name", paramLabel = "NAME", description = "The base model's name in requests (default: the folder's name).")
    String name;

    @Option(names = "--host", paramLabel = "H", defaultValue = "127.0.0.1",
            description = "Address to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface, then guard /admin).")
    String host;

    @Option(names = {"-p", "--port"}, paramLabel = "N", defaultValue = "8000", description = "Port (default: ${DEFAULT-VALUE}; 0 for any free port).")
    int port;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto", converter = DeviceOption.Converter.class,
            description = "Where the model generates: " + DeviceOption.DESCRIPTION)
    DeviceOption device;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "auto", converter = PrecisionOption.Converter.class,
            description = "What the model computes in: " + PrecisionOption.DESCRIPTION)
    PrecisionOption precision;

    @Option(names = "--base-quantization", paramLabel = "Q", defaultValue = "auto",
            converter = BaseQuantizationOption.Converter.class, description = BaseQuantizationOption.DESCRIPTION)
    BaseQuantizationOption baseQuantization;

    @Option(names = "--max-batch", paramLabel = "N", defaultValue = "16", description = "Requests decoded together (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-queue", paramLabel = "N", defaultValue = "64",
            description = "Requests that may wait; more are answered 429 with Retry-After, and a request with more prompts"
                    + " than this 400 (default: ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--step-token-budget", paramLabel = "N", defaultValue = "256",
            description = "Tokens one engine step computes: one per running request, the rest reads arriving prompts in "
                    + "chunks; at least --max-batch (default: ${DEFAULT-VALUE}).")
    int stepTokenBudget;

    @Option(names = "--request-timeout", paramLabel = "SECONDS", defaultValue = "300",
            description = "Time limit of a request from its arrival, 1 to 86400 (a day); one that runs into it ends "
                    + "with finish_reason \"length\" and \"timed_out\": true (default: ${DEFAULT-VALUE}).")
    long requestTimeoutSeconds;

    @Option(names = "--drain-timeout", paramLabel = "SECONDS", defaultValue = "20",
            description = "On SIGTERM or Ctrl-C, how long requests in flight may take to finish while /health answers "
                    + "503 and new requests get 503, before the rest are cancelled (default: ${DEFAULT-VALUE}; keep it "
                    + "under the orchestrator's grace period, 30 s in Kubernetes; 0 cancels at once).")
    long drainTimeoutSeconds;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "Key that /v1 routes need (default: $" + API_KEY_ENV + ", else none: open).")
    String apiKey;

    @Option(names = "--admin-key", paramLabel = "KEY",
            description = "Key that /admin routes need (default: $" + ADMIN_KEY_ENV + ", else the API key).")
    String adminKey;

    @Option(names = "--tool-call-parser", paramLabel = "FORMAT", defaultValue = "auto",
            converter = ToolCallParserOption.Converter.class,
            description = ToolCallParserOption.DESCRIPTION + " Used for tool_choice \"auto\".")
    ToolCallParserOption toolCallParser;

    @Option(names = "--reasoning-parser", paramLabel = "PARSER", defaultValue = "none",
            converter = ReasoningParserConverter.class,
            description = "Whether chat answers return a reasoning model's <think>...</think> apart, as reasoning_content: "
                    + "none (the text as generated is content), think, or auto (think when the chat template writes "
                    + "<think>: Qwen3, DeepSeek-R1 distills, SmolLM3) (default: ${DEFAULT-VALUE}).")
    ReasoningParser reasoningParser;

    @Override
    public Integer call() throws InterruptedException {
        if (maxBatch < 1 || maxQueue < 1) {
            throw new BadInputException("--max-batch and --max-queue must be at least 1, got " + maxBatch + " and " + maxQueue);
        }
        if (stepTokenBudget < maxBatch) {
            throw new BadInputException("--step-token-budget " + stepTokenBudget + " is below --max-batch " + maxBatch
                    + ": a full batch would leave no tokens for reading prompts; raise it");
        }
        if (requestTimeoutSeconds < 1 || requestTimeoutSeconds > MAX_REQUEST_TIMEOUT_SECONDS) {
            throw new BadInputException("--request-timeout must be 1 to " + MAX_REQUEST_TIMEOUT_SECONDS
                    + " seconds (a day), got " + requestTimeoutSeconds);
        }
        if (drainTimeoutSeconds < 0 || drainTimeoutSeconds > MAX_REQUEST_TIMEOUT_SECONDS) {
            throw new BadInputException("--drain-timeout must be 0 to " + MAX_REQUEST_TIMEOUT_SECONDS
                    + " seconds (a day), got " + drainTimeoutSeconds);
        }
        if (port < 0 || port > 65535) {
            throw new BadInputException("--port must be 0 (any free port) to 65535, got " + port);
        }
        ToolCallFormat toolCalls = toolCallParser.forced(); // null: the server tells it from the chat template
        Device target = device.resolve();
        Serving serving = start(target, toolCalls);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            serving.drain(Duration.ofSeconds(drainTimeoutSeconds), spec.commandLine().getOut());
            serving.close();
            spec.commandLine().getOut().println("stopped");
            spec.commandLine().getOut().flush();
            stopped.countDown();
        }, "finetune4j-serve-shutdown"));
        spec.commandLine().getOut().println("serving " + serving.names + " on " + serving.server.uri() + " (OpenAI API at "
                + serving.server.uri() + "v1; " + target + ", " + PrecisionOption.label(precision.on(target)) + ", "
                + serving.base + "); Ctrl-C stops");
        spec.commandLine().getOut().flush();
        stopped.await(); // the JVM exits once the shutdown hook has closed everything
        return ExitCodes.OK;
    }

    /**
     * Reads the adapters, loads the model on {@code target} (quantized to NF4 as {@link #baseQuantization} decides
     * from the adapters), tokenizer and engine with the adapters, and starts the server reading tool calls in
     * {@code toolCalls} (null: told from the chat template); on failure closes what was opened.
     */
    Serving start(Device target, ToolCallFormat toolCalls) {
        Map<String, AdapterFiles> read = readAdapters();
        try {
            return start(target, toolCalls, read);
        } finally {
            read.values().forEach(AdapterFiles::close);
        }
    }

    private Serving start(Device target, ToolCallFormat toolCalls, Map<String, AdapterFiles> read) {
        Map<String, Boolean> qlora = new LinkedHashMap<>();
        read.forEach((adapterName, files) -> qlora.put(adapterName, files.trainedOnQuantizedBase()));
        Serving s = new Serving();
        Precision numbers = precision.on(target);
        // quantized as it is read, from the checkpoint's values: the NF4 weights training had
        s.model = ModelInputs.loadForInference(model, target, numbers, baseQuantization.quantizes(qlora));
        try {
            String note = baseQuantization.mixedNote(qlora);
            if (note != null) {
                spec.commandLine().getOut().println(note);
            }
            s.tokenizer = Files.isRegularFile(model.resolve("tokenizer.json")) ? HfTokenizer.load(model) : null;
            if (s.tokenizer == null) {
                spec.commandLine().getOut().println("note: no tokenizer.json in " + model.toAbsolutePath()
                        + ": only /v1/completions with token-id prompts will work");
            } else {
                ModelInputs.requireSameVocabulary(s.tokenizer, s.model, model);
            }
            s.engine = InferenceEngine.builder(s.model).maxBatchSize(maxBatch).maxQueuedRequests(maxQueue)
                    .stepTokenBudget(stepTokenBudget).defaultTimeout(Duration.ofSeconds(requestTimeoutSeconds)).precision(numbers).build();
            s.base = s.engine.baseQuantized() ? "base NF4-quantized" : "base full precision";
            // a base quantized otherwise than an adapter's training base is logged by peft's loader, once per adapter
            read.forEach((adapterName, files) -> loadAdapter(s.engine, adapterName, files));
            String baseName = name != null ? name : model.toAbsolutePath().normalize().getFileName().toString();
            if (adapters.containsKey(baseName)) {
                throw new BadInputException("adapter name '" + baseName + "' is also the base model's name; rename the adapter "
                        + "or pass --name");
            }
            try {
                s.server = OpenAiServer.builder(s.engine).modelName(baseName).tokenizer(s.tokenizer)
                        .stopTokens(configStopTokens()).host(host).port(port).apiKey(key(apiKey, API_KEY_ENV))
                        .adminKey(key(adminKey, ADMIN_KEY_ENV)).toolCallFormat(toolCalls).reasoningParser(reasoningParser)
                        // a request's prompts wait in the engine's queue together: more could never be admitted
                        .maxPromptsPerRequest(maxQueue).start();
            } catch (IllegalArgumentException e) {
                throw new BadInputException("cannot start the server: " + e.getMessage() + " (--api-key or $" + API_KEY_ENV
                        + ", --admin-key or $" + ADMIN_KEY_ENV + ")", e);
            }
            s.names = s.engine.adapterNames().isEmpty() ? "'" + baseName + "'" : "'" + baseName + "' and adapters " + s.engine.adapterNames();
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** The option's key, else the environment variable's, else null (an empty variable counts as unset). */
    private static String key(String option, String variable) {
        String key = option != null ? option : System.getenv(variable);
        return option == null && key != null && key.isEmpty() ? null : key;
    }

    /** Each --adapter folder, read (so that its training base decides the base's quantization); bad input if one is not. */
    private Map<String, AdapterFiles> readAdapters() {
        Map<String, AdapterFiles> read = new LinkedHashMap<>();
        try {
            adapters.forEach((adapterName, dir) ->
                    read.put(adapterName, ModelInputs.readAdapter(dir, "--adapter " + adapterName + "=" + dir)));
            return read;
        } catch (RuntimeException e) {
            read.values().forEach(AdapterFiles::close);
            throw e;
        }
    }

    private static void loadAdapter(InferenceEngine engine, String name, AdapterFiles files) {
        try {
            engine.loadAdapter(name, files);
        } catch (PeftException | IllegalArgumentException | UncheckedIOException e) {
            throw new BadInputException("cannot serve the adapter in " + files.dir().toAbsolutePath() + ": "
                    + e.getMessage(), e);
        }
    }

    /** The stop tokens of the model folder's config.json ({@link #stopTokens}). */
    private Set<Long> configStopTokens() {
        return stopTokens(AutoModel.readConfig(model));
    }

    /**
     * A config.json's {@code eos_token_id}: one id, a list of ids, or none; a vision-language config (Gemma 3) may
     * keep it in its {@code text_config} only, which transformers' generation then reads.
     */
    static Set<Long> stopTokens(JsonNode config) {
        JsonNode eos = config.has("eos_token_id") ? config.get("eos_token_id") : config.path("text_config").path("eos_token_id");
        Set<Long> ids = new HashSet<>();
        if (eos.isIntegralNumber()) {
            ids.add(eos.asLong());
        }
        eos.forEach(id -> ids.add(id.asLong()));
        return ids;
    }

    /** What runs while serving, closed in reverse order of opening. */
    static final class Serving implements AutoCloseable {
        LanguageModel model;
        HfTokenizer tokenizer;
        InferenceEngine engine;
        OpenAiServer server;
        String names;
        /** Which base is served, for the start-up line: NF4-quantized or full precision. */
        String base;

        /**
         * Lets the requests in flight finish, at most {@code timeout}, while the server answers new ones and
         * {@code /health} with 503; says how it went.
         */
        void drain(Duration timeout, PrintWriter out) {
            if (engine == null || timeout.isZero()) {
                return;
            }
            out.println("draining: requests in flight may finish within " + timeout.toSeconds() + " s");
            out.flush();
            try {
                if (!engine.drain(timeout)) {
                    EngineMetrics left = engine.metrics();
                    out.println("drain timed out: cancelling " + left.runningRequests() + " running and "
                            + left.queueDepth() + " queued requests");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() {
            if (server != null) {
                server.close();
            }
            if (engine != null) {
                engine.close();
            }
            if (tokenizer != null) {
                tokenizer.close();
            }
            model.close();
        }
    }

    /** Reads {@code --reasoning-parser} for picocli: a wrong name is bad input listing the names. */
    static final class ReasoningParserConverter implements ITypeConverter<ReasoningParser> {
        @Override
        public ReasoningParser convert(String text) {
            try {
                return ReasoningParser.named(text);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
