package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.ia3.Ia3Config;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * adapter_config.json names what the adapter was made for, as PEFT writes it (vLLM and TGI read target_modules):
 * the resolved default modules, the base model's folder and class; loading onto another architecture warns.
 */
class BaseModelRecordTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void defaultTargetsAndTheBaseAreWrittenOut(@TempDir Path tmp) throws IOException {
        Path base = Fixtures.dir("llama");
        try (LanguageModel model = AutoModel.loadCausalLM(base)) {
            Peft.wrap(model, LoraConfig.builder().r(4).build()).save(tmp.resolve("lora"));
        }
        JsonNode lora = JSON.readTree(tmp.resolve("lora/adapter_config.json").toFile());
        assertEquals(List.of("q_proj", "v_proj"), strings(lora.get("target_modules")));
        assertEquals(base.toString(), lora.get("base_model_name_or_path").asText());
        assertEquals("LlamaForCausalLM", lora.path("auto_mapping").path("base_model_class").asText());

        try (LanguageModel model = AutoModel.loadCausalLM(base)) {
            Peft.wrap(model, new Ia3Config(null, null, null, false, true, null, "CAUSAL_LM")).save(tmp.resolve("ia3"));
        }
        JsonNode ia3 = JSON.readTree(tmp.resolve("ia3/adapter_config.json").toFile());
        assertEquals(List.of("k_proj", "v_proj", "down_proj"), strings(ia3.get("target_modules")));
        assertEquals(List.of("down_proj"), strings(ia3.get("feedforward_modules")));

        try (LanguageModel model = AutoModel.loadCausalLM(Fixtures.dir("qwen2"))) {
            Peft.wrap(model, new Ia3Config(null, null, null, false, true, null, "CAUSAL_LM")).save(tmp.resolve("ia3-qwen2"));
        }
        JsonNode qwen = JSON.readTree(tmp.resolve("ia3-qwen2/adapter_config.json").toFile());
        assertEquals(List.of("q_proj", "v_proj", "down_proj"), strings(qwen.get("target_modules")),
                "PEFT's IA3 default for qwen2 is q_proj, not LLaMA's k_proj");
    }

    @Test
    void anAdapterOfAnotherArchitectureWarnsAndOneOfOtherShapesIsRefused(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("a");
        try (LanguageModel model = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            Peft.wrap(model, LoraConfig.builder().r(4).targetModules("q_proj", "v_proj").build()).save(dir);
        }
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("adapter_config.json").toFile());
        ((ObjectNode) config.get("auto_mapping")).put("base_model_class", "Qwen2ForCausalLM");
        JSON.writeValue(dir.resolve("adapter_config.json").toFile(), config);
        try (LanguageModel model = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            List<String> warnings = Peft.load(model, dir).loadWarnings();
            assertEquals(1, warnings.size());
            assertTrue(warnings.getFirst().contains("Qwen2ForCausalLM") && warnings.getFirst().contains("LlamaForCausalLM"),
                    warnings.getFirst());
        }
        try (LanguageModel gpt2 = AutoModel.loadCausalLM(Fixtures.dir("gpt2"))) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(gpt2, dir));
            assertTrue(e.getMessage().contains("target_modules"), e.getMessage());
        }
    }

    private static List<String> strings(JsonNode array) {
        return JSON.convertValue(array, JSON.getTypeFactory().constructCollectionType(List.class, String.class));
    }
}
