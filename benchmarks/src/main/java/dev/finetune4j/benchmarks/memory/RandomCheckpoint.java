package dev.finetune4j.benchmarks.memory;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a Hugging Face model folder with Qwen2-0.5B's shapes (494M parameters: hidden 896, 24 layers, 14 query
 * and 2 key/value heads, MLP 4864, vocabulary 151,936, tied embeddings) and random bf16 weights, 0.99 GB on
 * disk, for the memory benchmark ({@link LoadMemoryBenchmark}); no download, same bytes for the same seed.
 *
 * <pre>{@code java -cp ... dev.finetune4j.benchmarks.memory.RandomCheckpoint /tmp/qwen2-0.5b-shape}</pre>
 */
public final class RandomCheckpoint {
    private RandomCheckpoint() {
    }

    /**
     * Writes the Qwen2-0.5B-shaped folder.
     *
     * @param args optionally the folder
     * @throws Exception when a file cannot be written
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/qwen2-0.5b-shape");
        write(dir, qwen2HalfBillion(), 42);
        System.out.println("wrote " + dir.toAbsolutePath() + " (" + Files.size(dir.resolve("model.safetensors")) + " bytes)");
    }

    /** Qwen2-0.5B's config.json (its published shapes). */
    static ObjectNode qwen2HalfBillion() {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", "qwen2");
        c.putArray("architectures").add("Qwen2ForCausalLM");
        c.put("hidden_size", 896);
        c.put("intermediate_size", 4864);
        c.put("num_hidden_layers", 24);
        c.put("num_attention_heads", 14);
        c.put("num_key_value_heads", 2);
        c.put("vocab_size", 151936);
        c.put("max_position_embeddings", 32768);
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", 1000000.0);
        c.put("hidden_act", "silu");
        c.put("tie_word_embeddings", true);
        c.put("torch_dtype", "bfloat16");
        return c;
    }

    /**
     * A small LLaMA-shaped config.json for speed measurements: hidden 512, 8 layers, 8 query and 2 key/value
     * heads, MLP 1408, vocabulary 8000, 2048 positions, untied output head.
     *
     * @return a new JSON object
     */
    public static ObjectNode smallLlama() {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", "llama");
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("hidden_size", 512);
        c.put("intermediate_size", 1408);
        c.put("num_hidden_layers", 8);
        c.put("num_attention_heads", 8);
        c.put("num_key_value_heads", 2);
        c.put("vocab_size", 8000);
        c.put("max_position_embeddings", 2048);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("hidden_act", "silu");
        c.put("tie_word_embeddings", false);
        return c;
    }

    /**
     * config.json and model.safetensors in {@code dir}: every weight N(0, 0.02) in bf16, norms 1.
     *
     * @param dir the folder, created when missing
     * @param config the config.json content
     * @param seed the seed of the weights
     * @throws Exception when a file cannot be written
     */
    public static void write(Path dir, ObjectNode config, long seed) throws Exception {
        Files.createDirectories(dir);
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), config);
        SplittableRandom random = new SplittableRandom(seed);
        try (LanguageModel shapes = AutoModel.newCausalLM(config, TensorScope.detached(Device.meta()));
             TensorScope scope = TensorScope.detached()) {
            Map<String, Tensor> weights = new LinkedHashMap<>();
            shapes.stateDict().forEach((name, placeholder) ->
                    weights.put(name, random(scope, placeholder.shape(), name.endsWith("norm.weight"), random)));
            SafetensorsWriter.write(dir.resolve("model.safetensors"), weights, Map.of("format", "pt"));
        }
    }

    private static Tensor random(TensorScope scope, Shape shape, boolean ones, SplittableRandom random) {
        Tensor t = Tensor.zeros(scope, DType.BF16, shape);
        MemorySegment bytes = t.hostSegment();
        for (long i = 0; i < t.numel(); i++) {
            // a uniform draw with the normal's spread is enough for memory and speed measurements
            float v = ones ? 1f : (float) ((random.nextDouble() - 0.5) * 0.0693);
            bytes.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, DTypeConversions.floatToBf16(v));
        }
        return t;
    }
}
