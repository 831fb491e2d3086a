package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * references/deepseek_v3 with a latent of DeepSeek-V3's rank, {@value #RANK} (+ its 4 rotated dimensions: 516, wider
 * than CUDA's attention kernels take), written to a folder: config.json's {@code kv_lora_rank} set, each layer's
 * {@code kv_a_proj_with_mqa}, {@code kv_a_layernorm} and {@code kv_b_proj} drawn at random (seeded) in their new
 * shapes, every other tensor the fixture's. transformers 5.17 loaded the folder this writes ({@code
 * DeepseekV3ForCausalLM}, float32, eager attention, torch 2.13 CPU) and generated {@link #REFERENCE_OUTPUT} greedily
 * from {@link #PROMPT} (its smallest top-1/top-2 logit gap along the path 0.027, max |logit| 2.0).
 */
final class WideLatentFolder {
    static final int RANK = 512;
    /** The cached latent's width: the rank and the fixture's qk_rope_head_dim. */
    static final int WIDTH = RANK + 4;
    /** The prompt of {@link #REFERENCE_OUTPUT}: references/deepseek_v3's greedy_prompt. */
    static final long[] PROMPT = {89, 97, 119, 49, 105, 16};
    /** transformers' greedy continuation of {@link #PROMPT}, 10 tokens, with its KV cache. */
    static final long[] REFERENCE_OUTPUT = {40, 46, 75, 5, 71, 98, 114, 10, 57, 74};
    /** kv_b_proj's rows: the fixture's 4 heads of 6 key and 5 value dimensions. */
    static final int KV_B_ROWS = 44;

    private WideLatentFolder() {
    }

    /**
     * Writes the folder.
     *
     * @param dir where (created)
     * @return {@code dir}
     * @throws Exception when the fixture cannot be read or the folder written
     */
    static Path write(Path dir) throws Exception {
        Path fixture = ReferenceData.resource("references/deepseek_v3");
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(fixture.resolve("config.json").toFile());
        config.put("kv_lora_rank", RANK);
        int layers = config.get("num_hidden_layers").asInt();
        int hidden = config.get("hidden_size").asInt();
        int rope = config.get("qk_rope_head_dim").asInt();
        int perHead = config.get("qk_nope_head_dim").asInt() + config.get("v_head_dim").asInt();
        int heads = config.get("num_attention_heads").asInt();
        Files.createDirectories(dir);
        new ObjectMapper().writeValue(dir.resolve("config.json").toFile(), config);
        SplittableRandom random = new SplittableRandom(41);
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(fixture); TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : checkpoint.names()) {
                tensors.put(name, checkpoint.tensor(name));
            }
            for (int l = 0; l < layers; l++) {
                String attention = "model.layers." + l + ".self_attn.";
                // the fixture's scale for kv_a; kv_b's shrunk by sqrt(512 / 8) so that the scores stay O(1)
                tensors.put(attention + "kv_a_proj_with_mqa.weight", gaussian(scope, random, 0.3, 0, RANK + rope, hidden));
                tensors.put(attention + "kv_a_layernorm.weight", gaussian(scope, random, 0.1, 1, RANK));
                tensors.put(attention + "kv_b_proj.weight", gaussian(scope, random, 0.3 / 8, 0, heads * perHead, RANK));
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
        }
        return dir;
    }

    private static Tensor gaussian(TensorScope scope, SplittableRandom random, double std, double mean, int... dims) {
        int n = 1;
        for (int d : dims) {
            n *= d;
        }
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (mean + std * random.nextGaussian());
        }
        return Tensor.of(scope, values, dims);
    }
}
