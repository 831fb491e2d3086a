package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Command R+ ({@code cohere} with {@code use_qk_norm}): llama.cpp's command-r graph reads each layer's
 * {@code attn_q_norm} and {@code attn_k_norm}, a LayerNorm weight of {n_embd_head_k, n_head} (ggml's order: numpy's
 * (heads, head_dim), the checkpoint's own), from 64 layers on (src/models/command-r.cpp): the export of a 64-layer
 * model writes them from {@code q_norm} and {@code k_norm}, as they are.
 */
class CommandRPlusMappingTest {

    @Test
    void deepModelsWriteTheirPerHeadQueryAndKeyNorms() throws Exception {
        ObjectNode config = ReferenceCase.byName().get("cohere-bytebpe-f32").configJson().put("num_hidden_layers", 64)
                .put("use_qk_norm", true);
        try (LanguageModel model = ReferenceCase.model(config)) {
            ModelMapping mapping = ModelMapping.of(model);
            Map<String, String> placed = mapping.placements().stream()
                    .collect(Collectors.toMap(Placement::ggufName, Placement::hfName));
            int heads = config.get("num_attention_heads").asInt();
            int kvHeads = config.get("num_key_value_heads").asInt();
            int headDim = config.get("hidden_size").asInt() / heads;
            Map<String, GgufTensor> tensors = mapping.tensors(GgufType.F32, false).stream()
                    .collect(Collectors.toMap(GgufTensor::name, Function.identity()));
            for (int layer : List.of(0, 63)) {
                String blk = "blk." + layer + ".";
                assertEquals("model.layers." + layer + ".self_attn.q_norm.weight", placed.get(blk + "attn_q_norm.weight"));
                assertEquals("model.layers." + layer + ".self_attn.k_norm.weight", placed.get(blk + "attn_k_norm.weight"));
                assertArrayEquals(new long[]{headDim, heads}, tensors.get(blk + "attn_q_norm.weight").dims(),
                        Arrays.toString(tensors.get(blk + "attn_q_norm.weight").dims()));
                assertArrayEquals(new long[]{headDim, kvHeads}, tensors.get(blk + "attn_k_norm.weight").dims());
            }
            assertTrue(placed.keySet().stream().filter(n -> n.endsWith("attn_q_norm.weight")).count() == 64);
        }
    }
}
