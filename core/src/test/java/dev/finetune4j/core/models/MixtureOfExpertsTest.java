package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backward through a mixture of experts against the references' gradients (torch's autograd through the
 * re-implementation of transformers' sparse blocks, tools/reference/families_torch.py): the router's, an expert's,
 * a query projection's and the final norm's, Qwen2-MoE's shared expert and its gate, and OLMoE's q/k norms across
 * heads. Each fixture's routing leads
 * every token's (k+1)-th expert by at least 3.4e-3 in probability, so float32 rounding picks the same experts.
 */
class MixtureOfExpertsTest {

    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "gpt_oss", "granitemoe", "granitemoeshared"})
    void gradientsThroughTheRoutingMatchTorch(String family) throws Exception {
        ReferenceGradients.assertMatch(family, Device.cpu());
    }

    /** Qwen3.5-MoE: the routing and the shared expert beside the gated DeltaNet (its tolerance as qwen3_5's). */
    @Test
    void qwen35MoeGradientsMatchTorch() throws Exception {
        ReferenceGradients.assertMatch("qwen3_5_moe", Device.cpu(), 2e-4);
    }

    /**
     * transformers' {@code load_balancing_loss_func} over the masked batch (padding left out of both the picks and the
     * mean probabilities), and its gradient into layer 0's router.
     */
    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "gpt_oss", "qwen3_5_moe", "qwen3_next",
            "ernie4_5_moe", "qwen3_vl_moe"})
    void routerLoadBalanceMatchesTransformersLossAndGradient(String family) throws Exception {
        String dir = "references/" + family;
        ReferenceData ref = ReferenceData.load(dir + "/reference.safetensors");
        List<String> keys = ref.floats.keySet().stream().filter(k -> k.startsWith("aux_grad.")).toList();
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource(dir), ReferenceData.f32(Device.cpu()));
             var scope = TensorScope.open()) {
            for (String key : keys) {
                lm.stateDict().get(key.substring("aux_grad.".length())).requiresGrad(true);
            }
            Tensor aux;
            try (RouterLoadBalance balance = RouterLoadBalance.collect()) {
                lm.forward(ModelInput.of(ref.ids("input_ids"), ref.ids("attention_mask")));
                aux = balance.loss();
            }
            assertEquals(ref.floats.get("aux_loss")[0], aux.toFloatArray()[0], 1e-6, family + " aux_loss");
            Autograd.backward(aux);
            assertFalse(keys.isEmpty(), family + ": the fixture holds no aux_grad");
            for (String key : keys) {
                Tensor router = lm.stateDict().get(key.substring("aux_grad.".length()));
                assertClose(ref.floats.get(key), router.grad().toFloatArray(), family + " " + key);
            }
            assertEquals(null, RouterLoadBalance.current(), "closing the collector ends the collection");
        }
    }

    /** NF4 loading quantizes the experts but leaves the routers as stored, whose scores pick the experts. */
    @Test
    void nf4LoadingLeavesTheRoutersAsStored() throws Exception {
        LoadOptions nf4 = LoadOptions.builder().quantization(Quantization.NF4).build();
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource("references/qwen2_moe"), nf4)) {
            Map<String, Tensor> w = lm.stateDict();
            for (String router : List.of("model.layers.0.mlp.gate.weight",
                    "model.layers.0.mlp.shared_expert_gate.weight")) {
                assertEquals(storedDtype("qwen2_moe", router), w.get(router).dtype(), router);
            }
            assertEquals(DType.NF4, w.get("model.layers.0.mlp.experts.3.down_proj.weight").dtype());
            assertEquals(DType.NF4, w.get("model.layers.0.mlp.shared_expert.up_proj.weight").dtype());
            assertEquals(DType.NF4, w.get("model.layers.1.mlp.gate_proj.weight").dtype(), "layer 1 is dense");
            assertFalse(w.containsKey("model.layers.1.mlp.gate.weight"), "a dense layer has no router");
        }
    }

    /**
     * The newer routers under NF4 loading: GLM-4.5's and DeepSeek-V3's routers and their correction biases stay as
     * stored, as is Gemma 4's {@code router.proj}; the latent attention's projections and the stacked experts of
     * Qwen3-VL-MoE and Gemma 4 are quantized, and the model
     * still computes the reference's greedy-relevant logits to NF4's precision.
     */
    @ParameterizedTest
    @CsvSource({"glm4_moe,model.layers.1.mlp.gate,model.layers.1.mlp.experts.0.up_proj.weight",
            "deepseek_v3,model.layers.1.mlp.gate,model.layers.0.self_attn.kv_b_proj.weight",
            "qwen3_vl_moe,model.language_model.layers.0.mlp.gate,model.language_model.layers.0.mlp.experts.gate_up_proj",
            "gemma4_text_moe,model.layers.0.router.proj,model.layers.0.experts.gate_up_proj"})
    void nf4LoadingOfTheNewerMixtures(String family, String router, String quantized) throws Exception {
        LoadOptions nf4 = LoadOptions.builder().quantization(Quantization.NF4).build();
        ReferenceData ref = ReferenceData.load("references/" + family + "/reference.safetensors");
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource("references/" + family), nf4);
             var scope = TensorScope.open()) {
            Map<String, Tensor> w = lm.stateDict();
            assertEquals(storedDtype(family, router + ".weight"), w.get(router + ".weight").dtype(),
                    family + " router");
            if (w.containsKey(router + ".e_score_correction_bias")) {
                assertEquals(storedDtype(family, router + ".e_score_correction_bias"),
                        w.get(router + ".e_score_correction_bias").dtype());
            }
            assertEquals(DType.NF4, w.get(quantized).dtype(), quantized);
            float[] logits = lm.forward(ModelInput.of(ref.ids("input_ids"), null)).toFloatArray();
            float[] expected = ref.floats.get("logits");
            double worst = 0;
            double largest = 0;
            for (int i = 0; i < expected.length; i++) {
                worst = Math.max(worst, Math.abs(logits[i] - expected[i]));
                largest = Math.max(largest, Math.abs(expected[i]));
            }
            assertTrue(worst < 0.25 * largest, family + ": NF4 moves the logits by " + worst + " of " + largest);
        }
    }

    /**
     * gpt-oss under NF4: the attention projections and the stacked expert matrices quantized, the biased routers, the
     * sinks and the biases kept; its logits are those of the float32 model whose quantized weights went through NF4
     * and back (each expert's slice dequantized for its product).
     */
    @Test
    void nf4LoadingOfGptOssQuantizesItsAttentionAndExperts() throws Exception {
        LoadOptions nf4 = LoadOptions.builder().quantization(Quantization.NF4).build();
        ReferenceData ref = ReferenceData.load("references/gpt_oss/reference.safetensors");
        try (LanguageModel quantized = AutoModel.loadCausalLM(ReferenceData.resource("references/gpt_oss"), nf4);
             LanguageModel plain = AutoModel.loadCausalLM(ReferenceData.resource("references/gpt_oss"));
             var scope = TensorScope.open()) {
            Map<String, Tensor> w = quantized.stateDict();
            assertEquals(DType.NF4, w.get("model.layers.0.self_attn.q_proj.weight").dtype());
            assertEquals(DType.NF4, w.get("model.layers.0.mlp.experts.gate_up_proj").dtype());
            assertEquals(DType.NF4, w.get("model.layers.1.mlp.experts.down_proj").dtype());
            assertEquals(DType.F32, w.get("model.layers.0.mlp.router.weight").dtype());
            assertEquals(DType.F32, w.get("model.layers.0.mlp.experts.down_proj_bias").dtype());
            assertEquals(DType.F32, w.get("model.layers.0.self_attn.sinks").dtype());
            plain.stateDict().forEach((name, t) -> {
                if (w.get(name).dtype() == DType.NF4) {
                    t.copyFrom(w.get(name).convertTo(DType.F32, scope).toFloatArray());
                }
            });
            float[] expected = plain.forward(ModelInput.of(ref.ids("input_ids"), null)).toFloatArray();
            float[] actual = quantized.forward(ModelInput.of(ref.ids("input_ids"), null)).toFloatArray();
            assertClose(expected, actual, "gpt_oss logits under NF4");
        }
    }

    /** Largest difference within 1e-4 of the largest |expected|: float32 sums in another order, nothing more. */
    private static void assertClose(float[] expected, float[] actual, String what) {
        ReferenceGradients.assertClose(expected, actual, 1e-4, what);
    }

    /** The dtype of {@code name} in references/{@code family}'s checkpoint: bf16 or float32, as stored. */
    private static DType storedDtype(String family, String name) throws Exception {
        Path dir = ReferenceData.resource("references/" + family);
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir)) {
            return checkpoint.info(name).dtype();
        }
    }
}
