package dev.finetune4j.benchmarks.gpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * The model shapes of {@code hf_peft_bench.py} (BENCHMARKS.md's GPU configurations) as Hugging Face config.json
 * objects with the values transformers' config classes default to (rope theta 10000, RMSNorm eps 1e-6, SiLU), plus
 * {@code tiny} for checking the benchmark's plumbing on a CPU and BENCHMARKS.md's {@code cpu-m} for measurements on
 * one.
 */
public final class ModelShapes {
    /** The names {@link #config(String)} accepts. */
    public static final List<String> NAMES = List.of("tiny", "cpu-m", "qwen2-0.5b-shape", "llama-1.1b-shape", "qwen2.5-7b-shape");

    private ModelShapes() {
    }

    /**
     * The config.json of a named shape.
     *
     * @param name one of {@link #NAMES}
     * @return a new JSON object
     * @throws IllegalArgumentException for another name, listing the known ones
     */
    public static ObjectNode config(String name) {
        return switch (name) {
            case "tiny" -> decoder("llama", 512, 64, 176, 2, 4, 2, false);
            case "cpu-m" -> decoder("llama", 8192, 512, 1408, 8, 8, 8, false);
            case "qwen2-0.5b-shape" -> decoder("qwen2", 151936, 896, 4864, 24, 14, 2, true);
            case "llama-1.1b-shape" -> decoder("llama", 32000, 2048, 5632, 22, 32, 4, false);
            case "qwen2.5-7b-shape" -> decoder("qwen2", 152064, 3584, 18944, 28, 28, 4, false);
            default -> throw new IllegalArgumentException("unknown config '" + name + "'; use one of " + NAMES);
        };
    }

    private static ObjectNode decoder(String type, int vocab, int hidden, int intermediate, int layers, int heads,
                                      int kvHeads, boolean tied) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", type).put("vocab_size", vocab).put("hidden_size", hidden)
                .put("intermediate_size", intermediate).put("num_hidden_layers", layers)
                .put("num_attention_heads", heads).put("num_key_value_heads", kvHeads)
                .put("max_position_embeddings", 4096).put("rms_norm_eps", 1e-6).put("rope_theta", 10000.0)
                .put("hidden_act", "silu").put("tie_word_embeddings", tied);
        return c;
    }
}
