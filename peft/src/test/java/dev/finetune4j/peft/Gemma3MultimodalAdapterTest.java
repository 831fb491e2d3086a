package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.Gemma3MultimodalFolders;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A LoRA adapter made on the language model of a Gemma3ForConditionalGeneration folder is written as PEFT writes one
 * for that class: keys under {@code base_model.model.model.language_model}, the class in auto_mapping, the base folder
 * in base_model_name_or_path, and targets that PEFT, which would also find q_proj and v_proj in the vision tower,
 * reads as the language model's alone.
 */
class Gemma3MultimodalAdapterTest {

    @Test
    void defaultLoraTargetsTheLanguageModelAndIsSavedUnderItsPeftKeys(@TempDir Path tmp) throws Exception {
        Path base = Gemma3MultimodalFolders.write(tmp.resolve("gemma3"), Gemma3MultimodalFolders.Names.TRANSFORMERS_5);
        Path adapter = tmp.resolve("adapter");
        long[][] ids = {{3, 1, 4, 1, 5, 9, 2, 6}};
        float[][][] before;
        try (LanguageModel lm = AutoModel.loadCausalLM(base)) {
            PeftModel model = Peft.wrap(lm, LoraConfig.builder().r(2).loraAlpha(4).initLoraWeights(LoraInit.RANDOM).build(), 5);
            before = model.logits(ids, null);
            model.save(adapter);
        }
        List<String> expected = new ArrayList<>();
        for (int layer = 0; layer < 3; layer++) {
            for (String proj : List.of("q_proj", "v_proj")) {
                for (String ab : List.of("lora_A", "lora_B")) {
                    expected.add("base_model.model.model.language_model.layers." + layer + ".self_attn." + proj + "." + ab + ".weight");
                }
            }
        }
        try (SafetensorsFile saved = SafetensorsFile.open(adapter.resolve("adapter_model.safetensors"))) {
            assertEquals(new TreeSet<>(expected), new TreeSet<>(saved.names()));
        }
        JsonNode config = new ObjectMapper().readTree(adapter.resolve("adapter_config.json").toFile());
        assertEquals(base.toString(), config.get("base_model_name_or_path").asText());
        assertEquals("LORA", config.get("peft_type").asText());
        assertEquals("model\\.language_model\\.layers\\.\\d+\\.self_attn\\.(q_proj|v_proj)", config.get("target_modules").asText(),
                "a regex: PEFT has no default targets for gemma3, and the names would reach the vision tower");
        assertEquals("Gemma3ForConditionalGeneration", config.path("auto_mapping").path("base_model_class").asText());
        assertEquals("transformers.models.gemma3.modeling_gemma3", config.path("auto_mapping").path("parent_library").asText());
        try (LanguageModel lm = AutoModel.loadCausalLM(base)) {
            float[][][] after = Peft.load(lm, adapter).logits(ids, null);
            for (int t = 0; t < ids[0].length; t++) {
                assertArrayEquals(before[0][t], after[0][t], 1e-6f, "position " + t);
            }
        }
    }

    /** A target_modules regex written for the Python model, anchored at model.language_model, selects the same modules. */
    @Test
    void aRegexWrittenForThePythonModelMatches(@TempDir Path tmp) throws Exception {
        Path base = Gemma3MultimodalFolders.write(tmp.resolve("gemma3"), Gemma3MultimodalFolders.Names.TRANSFORMERS_4_5X);
        try (LanguageModel lm = AutoModel.loadCausalLM(base)) {
            PeftModel model = Peft.wrap(lm, LoraConfig.builder().r(2).loraAlpha(4)
                    .targetModulesRegex("model\\.language_model\\.layers\\.[02]\\.(self_attn\\.o_proj|mlp\\.down_proj)").build());
            assertEquals(List.of("model.language_model.layers.0.mlp.down_proj", "model.language_model.layers.0.self_attn.o_proj",
                            "model.language_model.layers.2.mlp.down_proj", "model.language_model.layers.2.self_attn.o_proj"),
                    model.trainableParameters().keySet().stream().map(n -> n.substring("base_model.model.".length(), n.indexOf(".lora_")))
                            .distinct().sorted().toList());
        }
    }
}
