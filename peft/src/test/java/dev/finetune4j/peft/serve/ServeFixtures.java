package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.Peft;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The tiny fixture models, LoRA adapters saved from them, and completions computed by core's Generator alone. */
public final class ServeFixtures {
    private ServeFixtures() {
    }

    /**
     * hf-tiny/llama's weights and adapters as a Mistral whose layers attend through a sliding window of 3 keys, so
     * that batched requests of longer prompts must each keep to their own window.
     */
    static final String SLIDING_WINDOW = "llama-sliding-window-3";
    private static Path slidingWindowCopy;

    /**
     * core's references/phi3_longrope: a Phi-3 whose longrope switches from its short to its long factors past 8
     * tokens (max_position_embeddings 32), read from core's test jar into a temporary folder.
     */
    static final String LONGROPE = "phi3-longrope-8";
    /**
     * A Qwen2-MoE of 3 layers (4 experts, top 2, a shared expert; layer 1 dense), read from core's test jar into a
     * temporary folder.
     */
    static final String MIXTURE = "qwen2-moe";
    /**
     * A gpt-oss of 2 layers (attention sinks, the first layer sliding over 4 tokens, 4 stacked experts, top 2), read
     * from core's test jar into a temporary folder.
     */
    static final String GPT_OSS = "gpt-oss";
    private static final Map<String, Path> referenceCopies = new HashMap<>();

    /**
     * A model folder under src/test/resources/hf-tiny, {@link #SLIDING_WINDOW}'s, {@link #LONGROPE}'s,
     * {@link #MIXTURE}'s or {@link #GPT_OSS}'s copy, or a copy of core's {@code references/NAME} when {@code name}
     * starts with {@code references/}.
     */
    public static Path model(String name) {
        if (name.equals(SLIDING_WINDOW)) {
            return slidingWindowModel();
        }
        if (name.startsWith("references/")) {
            return referenceCopy(name);
        }
        if (name.equals(LONGROPE)) {
            return referenceCopy("references/phi3_longrope");
        }
        if (name.equals(MIXTURE)) {
            return referenceCopy("references/qwen2_moe");
        }
        if (name.equals(GPT_OSS)) {
            return referenceCopy("references/gpt_oss");
        }
        try {
            return Path.of(ServeFixtures.class.getResource("/hf-tiny/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource /hf-tiny/" + name, e);
        }
    }

    /** hf-tiny/llama copied once into a temporary folder (removed when the JVM exits), its config made Mistral's. */
    private static synchronized Path slidingWindowModel() {
        if (slidingWindowCopy != null) {
            return slidingWindowCopy;
        }
        try {
            Path source = model("llama");
            Path copy = Files.createTempDirectory("sliding-window-llama");
            try (Stream<Path> files = Files.walk(source)) {
                for (Path f : files.toList()) {
                    Path target = copy.resolve(source.relativize(f).toString());
                    if (Files.isDirectory(f)) {
                        Files.createDirectories(target);
                    } else {
                        Files.copy(f, target);
                    }
                }
            }
            ObjectMapper json = new ObjectMapper();
            ObjectNode config = (ObjectNode) json.readTree(copy.resolve("config.json").toFile());
            config.put("model_type", "mistral").put("sliding_window", 3);
            json.writeValue(copy.resolve("config.json").toFile(), config);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(copy)));
            slidingWindowCopy = copy;
            return copy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A reference folder of core's test resources, copied once into a temporary folder (removed at JVM exit). */
    private static synchronized Path referenceCopy(String resource) {
        Path copy = referenceCopies.get(resource);
        if (copy != null) {
            return copy;
        }
        try {
            Path folder = Files.createTempDirectory(resource.substring(resource.lastIndexOf('/') + 1));
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(folder)));
            referenceCopies.put(resource, ReferenceFolders.copy(resource,
                    List.of("config.json", "model.safetensors", "reference.safetensors"), folder));
            return folder;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static LanguageModel load(String model) {
        return AutoModel.loadCausalLM(model(model));
    }

    /** Saves a LoRA adapter with random A and B (so that it changes the output) into {@code dir}. */
    static Path saveAdapter(String model, LoraConfig.Builder config, long seed, Path dir) {
        try (LanguageModel base = load(model)) {
            Peft.wrap(base, config.initLoraWeights(LoraInit.RANDOM).build(), seed).save(dir);
        }
        return dir;
    }

    /** The tokens core's Generator adds to {@code prompt}, on the base model or with the adapter in {@code adapterDir}. */
    static long[] generateAlone(String model, Path adapterDir, long[] prompt, GenerationConfig cfg) {
        try (LanguageModel base = load(model)) {
            long[] full = adapterDir == null ? Generator.generate(base, prompt, cfg)
                    : Generator.generate(Peft.load(base, adapterDir), prompt, cfg);
            return Arrays.copyOfRange(full, prompt.length, full.length);
        }
    }

    /**
     * Nine greedy requests over the bare base and the adapters loaded into {@code engine} under the keys of
     * {@code adapters} (their folders), submitted at once: each completion equals core's Generator on the request
     * alone.
     */
    static void assertBatchedRequestsEqualEachAlone(String model, InferenceEngine engine, Map<String, Path> adapters)
            throws Exception {
        List<String> names = new ArrayList<>();
        names.add(null);
        names.addAll(adapters.keySet());
        List<CompletionRequest> requests = new ArrayList<>();
        List<long[]> alone = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            String adapter = names.get(i % names.size());
            GenerationConfig cfg = GenerationConfig.greedy(4 + i % 5);
            CompletionRequest r = new CompletionRequest(adapter, prompt(3 + (i * 4) % 17, engine.vocabSize(), 60 + i),
                    cfg);
            requests.add(r);
            alone.add(generateAlone(model, adapter == null ? null : adapters.get(adapter), r.promptTokens(), cfg));
        }
        List<CompletableFuture<Completion>> futures = new ArrayList<>();
        for (CompletionRequest r : requests) {
            futures.add(engine.submit(r, TokenListener.NONE).completion());
        }
        for (int i = 0; i < requests.size(); i++) {
            assertArrayEquals(alone.get(i), futures.get(i).get(60, TimeUnit.SECONDS).tokens(),
                    model + ": request " + i + " (adapter " + requests.get(i).adapter() + ")");
        }
    }

    /** A prompt of {@code length} ids below {@code vocab}, from {@code seed}. */
    static long[] prompt(int length, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] p = new long[length];
        for (int i = 0; i < length; i++) {
            p[i] = r.nextInt(vocab);
        }
        return p;
    }
}
