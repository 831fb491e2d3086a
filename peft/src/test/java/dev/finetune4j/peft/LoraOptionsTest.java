package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.lora.LoraBias;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Target selection, ranks and scaling, initialisation, biases, the trainable report, disabling and generation. */
class LoraOptionsTest {

    @Test
    void targetsByListRegexExclusionAndLayers() {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            Map<String, Tensor> t = Peft.wrap(base, LoraConfig.builder().targetModules("q_proj", "mlp.down_proj")
                    .excludeModules("model.layers.0.self_attn.q_proj").layersToTransform(0, 1).build()).adapterTensors();
            assertEquals(java.util.List.of(
                    "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight",
                    "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight",
                    "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight",
                    "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight",
                    "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight",
                    "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"), java.util.List.copyOf(t.keySet()));
        }
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            Map<String, Tensor> t = Peft.wrap(base, LoraConfig.builder().targetModules("k_proj").layersToTransform(1).build()).adapterTensors();
            assertEquals(2, t.size());
            assertTrue(t.keySet().iterator().next().contains("layers.1.self_attn.k_proj"));
        }
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            // a string is a full match: "q_proj" alone matches no whole path
            PeftException e = org.junit.jupiter.api.Assertions.assertThrows(PeftException.class,
                    () -> Peft.wrap(base, LoraConfig.builder().targetModulesRegex("q_proj").build()));
            assertTrue(e.getMessage().contains("q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"), e.getMessage());
        }
    }

    @Test
    void rankAlphaPatternsAndRsloraScale() {
        LoraConfig c = LoraConfig.builder().r(8).loraAlpha(16).rankPattern(Map.of("v_proj", 2)).alphaPattern(Map.of("layers\\.1\\.self_attn\\.v_proj", 4.0)).build();
        assertEquals(2.0, c.scalingFor("model.layers.0.self_attn.q_proj"));
        assertEquals(8.0, c.scalingFor("model.layers.0.self_attn.v_proj"));
        assertEquals(2.0, c.scalingFor("model.layers.1.self_attn.v_proj"));
        LoraConfig rs = LoraConfig.builder().r(16).loraAlpha(8).useRslora(true).build();
        assertEquals(2.0, rs.scalingFor("x.q_proj"), 1e-12);
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            Map<String, Tensor> t = Peft.wrap(base, c.toBuilder().targetModules("q_proj", "v_proj").build()).adapterTensors();
            assertEquals(2, t.get("base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight").dim(0));
            assertEquals(8, t.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").dim(0));
        }
    }

    @Test
    void rankAndAlphaPatternsKeepTheirFileOrderAndTheFirstMatchWins() throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> alphaKeys = List.of("o_proj", "k_proj", "up_proj", "v_proj", "gate_proj", "down_proj", "q_proj", "lm_head");
        ObjectNode file = (ObjectNode) json.readTree("{\"rank_pattern\": {\"q_proj\": 2, \"self_attn.q_proj\": 4, \"0.self_attn.q_proj\": 6}}");
        ObjectNode alphas = file.putObject("alpha_pattern");
        alphaKeys.forEach(k -> alphas.put(k, 16));
        LoraConfig c = LoraConfig.fromJson(file, "adapter_config.json");
        assertEquals(2, c.rankFor("model.layers.0.self_attn.q_proj"), "PEFT takes the first key, in file order, that matches");
        ObjectNode saved = json.createObjectNode();
        c.toBuilder().build().toJson(saved);
        assertEquals(List.of("q_proj", "self_attn.q_proj", "0.self_attn.q_proj"), fieldNames(saved.get("rank_pattern")));
        assertEquals(alphaKeys, fieldNames(saved.get("alpha_pattern")));
    }

    private static List<String> fieldNames(JsonNode object) {
        List<String> out = new ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void defaultInitIsANoOpAndGaussianHasTheRightSpread() {
        long[][] ids = Fixtures.ids("llama", "input_ids");
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            float[] plain = Fixtures.flat(base.logits(ids, null));
            PeftModel m = Peft.wrap(base, LoraConfig.builder().r(4).targetModules("q_proj", "v_proj").build());
            assertArrayEquals(plain, Fixtures.flat(m.logits(ids, null)), "B = 0 at init");
            Tensor a = m.adapterTensors().get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
            float bound = (float) (1 / Math.sqrt(64));
            for (float v : a.toFloatArray()) {
                assertTrue(Math.abs(v) <= bound);
            }
        }
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftModel m = Peft.wrap(base, LoraConfig.builder().r(4).initLoraWeights(LoraInit.GAUSSIAN).targetModules("gate_proj").build());
            double sq = 0;
            int n = 0;
            for (String k : m.adapterTensors().keySet()) {
                if (k.contains("lora_A")) {
                    for (float v : m.adapterTensors().get(k).toFloatArray()) {
                        sq += v * v;
                        n++;
                    }
                }
            }
            assertEquals(0.25, Math.sqrt(sq / n), 0.03, "std 1/r");
        }
    }

    @Test
    void biasAllAndLoraOnlyTrainAndSaveBiases() {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("qwen2"))) {
            Map<String, Tensor> t = Peft.wrap(base, LoraConfig.builder().targetModules("q_proj").bias(LoraBias.LORA_ONLY).build()).trainableParameters();
            assertTrue(t.containsKey("base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias"));
            assertFalse(t.containsKey("base_model.model.model.layers.0.self_attn.k_proj.bias"));
        }
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("qwen2"))) {
            Map<String, Tensor> t = Peft.wrap(base, LoraConfig.builder().targetModules("q_proj").bias(LoraBias.ALL).build()).trainableParameters();
            assertTrue(t.containsKey("base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias"));
            assertTrue(t.containsKey("base_model.model.model.layers.0.self_attn.k_proj.bias"));
        }
    }

    @Test
    void trainableReportPrintsLikePeft() {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            long all = base.stateDict().values().stream().mapToLong(Tensor::numel).sum();
            PeftModel m = Peft.wrap(base, LoraConfig.builder().r(4).targetModules("q_proj", "v_proj").build());
            // per layer: q (4x64 + 64x4) + v (4x64 + 32x4)
            long lora = 2 * (4 * 64 + 64 * 4 + 4 * 64 + 32 * 4);
            TrainableReport r = m.trainableReport();
            assertEquals(lora, r.trainableParams());
            assertEquals(all + lora, r.allParams());
            assertTrue(r.toString().startsWith("trainable params: 1,792 || all params: "), r.toString());
            assertTrue(r.toString().matches(".*trainable%: \\d+\\.\\d{4}"), r.toString());
        }
    }

    @Test
    void generationWorksThroughEveryPromptMethod() {
        long[] prompt = {1, 17, 42, 99};
        for (String method : new String[]{"lora", "prefix", "prompt"}) {
            try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
                PeftModel m = Peft.load(base, Fixtures.dir("llama").resolve(method));
                long[] cached = Generator.generate(m, prompt, GenerationConfig.greedy(6));
                long[] uncached = Generator.generate(m, prompt, GenerationConfig.builder().maxNewTokens(6).useCache(false).build());
                assertArrayEquals(uncached, cached, method + ": the KV cache must not change the tokens");
                assertEquals(prompt.length + 6, cached.length);
            }
        }
    }
}
