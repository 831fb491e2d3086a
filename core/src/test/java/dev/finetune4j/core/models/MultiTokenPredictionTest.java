package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import org.junit.jupiter.api.Test;

import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which checkpoint tensors are the multi-token-prediction layers that loading leaves on disk, as transformers does. */
class MultiTokenPredictionTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Predicate<String> of(String type) {
        ObjectNode c = JSON.createObjectNode().put("model_type", type).put("vocab_size", 100).put("hidden_size", 32)
                .put("intermediate_size", 48).put("num_hidden_layers", 46).put("num_attention_heads", 4)
                .put("num_key_value_heads", 4).put("moe_intermediate_size", 16).put("n_routed_experts", 8)
                .put("num_experts_per_tok", 2).put("n_group", 1).put("topk_group", 1).put("moe_num_experts", 8)
                .put("moe_k", 2);
        return MultiTokenPrediction.weights(DecoderConfig.fromJson(c));
    }

    @Test
    void glm45AndDeepseekSkipTheLayersAfterTheLast() {
        for (String type : new String[]{"glm4_moe", "deepseek_v3"}) {
            Predicate<String> mtp = of(type);
            assertTrue(mtp.test("model.layers.46.eh_proj.weight"), type);
            assertTrue(mtp.test("model.layers.46.mlp.experts.3.up_proj.weight"), type);
            assertFalse(mtp.test("model.layers.45.mlp.experts.3.up_proj.weight"), type);
            assertFalse(mtp.test("model.layers.4.self_attn.q_proj.weight"), type);
            assertFalse(mtp.test("lm_head.weight"), type);
        }
    }

    @Test
    void ernieAndTheQwenHybridsSkipTheirMtpNamesAndOtherFamiliesNothing() {
        assertTrue(of("ernie4_5_moe").test("model.mtp_block.0.self_attn.q_proj.weight"));
        assertFalse(of("ernie4_5_moe").test("model.layers.46.self_attn.q_proj.weight"));
        for (String type : new String[]{"qwen3_next", "qwen3_5_text", "qwen3_5_moe_text"}) {
            assertTrue(of(type).test("mtp.layers.0.self_attn.q_proj.weight"), type);
            assertFalse(of(type).test("model.layers.46.self_attn.q_proj.weight"), type);
        }
        assertFalse(of("qwen3").test("model.layers.46.self_attn.q_proj.weight"), "another family's extra layer is a "
                + "mismatch to warn about");
    }
}
