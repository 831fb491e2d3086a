package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.Gemma3MultimodalFolders;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.ia3.Ia3Config;
import dev.finetune4j.peft.mix.AdapterMix;
import dev.finetune4j.peft.mix.CombinationType;
import dev.finetune4j.peft.mix.MixOptions;
import dev.finetune4j.peft.mix.MixedAdapter;
import dev.finetune4j.peft.mix.WeightedAdapter;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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

    /**
     * Target names would also reach the vision tower's q_proj, v_proj and o_proj in Python PEFT (which builds the
     * whole class), which would add adapters there with no tensors in the file and warn of the missing keys: the
     * saved exclude_modules leaves out what the model leaves out, with the user's own exclusion kept, for LoRA and
     * IA3; reloading and saving again writes the same exclusion.
     */
    @Test
    void targetNamesAreSavedWithTheVisionTowerExcluded(@TempDir Path tmp) throws Exception {
        Path base = Gemma3MultimodalFolders.write(tmp.resolve("gemma3"), Gemma3MultimodalFolders.Names.TRANSFORMERS_5);
        List<PeftConfig> configs = List.of(
                LoraConfig.builder().r(2).loraAlpha(4).targetModules("q_proj", "o_proj").excludeModules("o_proj").build(),
                Ia3Config.of(List.of("k_proj", "down_proj"), List.of("down_proj")));
        String expected = "(?:model\\.vision_tower|model\\.multi_modal_projector)\\..*";
        for (PeftConfig config : configs) {
            Path adapter = tmp.resolve(config.peftType());
            try (LanguageModel lm = AutoModel.loadCausalLM(base)) {
                Peft.wrap(lm, config, 5).save(adapter);
            }
            String exclude = new ObjectMapper().readTree(adapter.resolve("adapter_config.json").toFile())
                    .get("exclude_modules").asText();
            assertEquals(config instanceof LoraConfig ? expected + "|(?:.*\\.)?(?:o_proj)" : expected, exclude);
            TargetModules asPeftReadsIt = TargetModules.regex("exclude_modules", exclude);
            for (String vision : List.of("model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj",
                    "model.multi_modal_projector.mm_input_projection")) {
                assertTrue(asPeftReadsIt.matches(vision), vision);
            }
            assertEquals(config instanceof LoraConfig, asPeftReadsIt.matches("model.language_model.layers.0.self_attn.o_proj"));
            assertFalse(asPeftReadsIt.matches("model.language_model.layers.0.self_attn.q_proj"));

            Path again = tmp.resolve(config.peftType() + "-again");
            try (LanguageModel lm = AutoModel.loadCausalLM(base)) {
                Peft.load(lm, adapter).save(again);
            }
            assertEquals(exclude, new ObjectMapper().readTree(again.resolve("adapter_config.json").toFile())
                    .get("exclude_modules").asText());
        }
    }

    /**
     * An adapter saved with the vision tower excluded mixes with one saved on the same checkpoint without the exclusion
     * (by an older release, or by Python PEFT, which adapt the same language-model modules): the combined adapter
     * keeps the exclusion. Two adapters that exclude different modules of their own are still refused.
     */
    @Test
    void anAdapterWithTheTowerExcludedMixesWithOneWithout(@TempDir Path tmp) throws Exception {
        Path base = Gemma3MultimodalFolders.write(tmp.resolve("gemma3"), Gemma3MultimodalFolders.Names.TRANSFORMERS_5);
        Path excluding = tmp.resolve("excluding");
        try (LanguageModel lm = AutoModel.loadCausalLM(base)) {
            Peft.wrap(lm, LoraConfig.builder().r(2).loraAlpha(4).targetModules("q_proj", "v_proj")
                    .initLoraWeights(LoraInit.RANDOM).build(), 5).save(excluding);
        }
        Path plain = tmp.resolve("plain");
        Files.createDirectories(plain);
        Files.copy(excluding.resolve("adapter_model.safetensors"), plain.resolve("adapter_model.safetensors"));
        ObjectMapper json = new ObjectMapper();
        var config = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(
                excluding.resolve("adapter_config.json").toFile());
        String exclusion = config.get("exclude_modules").asText();
        json.writeValue(plain.resolve("adapter_config.json").toFile(), config.putNull("exclude_modules"));
        try (AdapterFiles a = AdapterFiles.read(plain); AdapterFiles b = AdapterFiles.read(excluding)) {
            MixedAdapter mixed = AdapterMix.combine(List.of(new WeightedAdapter(a, 0.5), new WeightedAdapter(b, 0.5)),
                    CombinationType.CAT, MixOptions.defaults());
            assertEquals(exclusion, ((TargetModules.Regex) mixed.config().excludeModules()).regex());
        }
        json.writeValue(plain.resolve("adapter_config.json").toFile(), config.put("exclude_modules", "model\\.norm"));
        try (AdapterFiles a = AdapterFiles.read(plain); AdapterFiles b = AdapterFiles.read(excluding)) {
            PeftException e = assertThrows(PeftException.class, () -> AdapterMix.combine(List.of(
                    new WeightedAdapter(a, 0.5), new WeightedAdapter(b, 0.5)), CombinationType.CAT, MixOptions.defaults()));
            assertTrue(e.getMessage().contains("exclude_modules"), e.getMessage());
        }
    }

    /**
     * An adapter PEFT made on the whole model with target_modules names also adapts the vision tower's q_proj: those
     * tensors are passed over (they act on images only), while a tensor for a language-model module that does not
     * exist is still refused.
     */
    @Test
    void visionTowerTensorsOfAPythonAdapterArePassedOver(@TempDir Path tmp) throws Exception {
        Path base = Gemma3MultimodalFolders.write(tmp.resolve("gemma3"), Gemma3MultimodalFolders.Names.TRANSFORMERS_5);
        Path adapter = tmp.resolve("adapter");
        long[][] ids = {{3, 1, 4, 1, 5, 9, 2, 6}};
        float[][][] before;
        try (LanguageModel lm = AutoModel.loadCausalLM(base)) {
            PeftModel model = Peft.wrap(lm, LoraConfig.builder().r(2).loraAlpha(4).targetModules("q_proj", "v_proj")
                    .initLoraWeights(LoraInit.RANDOM).build(), 5);
            before = model.logits(ids, null);
            model.save(adapter);
        }
        String vision = "base_model.model.model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.lora_";
        String olderProjector = "base_model.model.multi_modal_projector.mm_input_projection.lora_";
        addTensors(adapter, Map.of(vision + "A.weight", new int[]{2, 4}, vision + "B.weight", new int[]{4, 2},
                olderProjector + "A.weight", new int[]{2, 4}));
        try (LanguageModel lm = AutoModel.loadCausalLM(base)) {
            float[][][] after = Peft.load(lm, adapter).logits(ids, null);
            for (int t = 0; t < ids[0].length; t++) {
                assertArrayEquals(before[0][t], after[0][t], 1e-6f, "position " + t);
            }
        }
        addTensors(adapter, Map.of("base_model.model.model.language_model.layers.7.self_attn.q_proj.lora_A.weight", new int[]{2, 64}));
        try (LanguageModel lm = AutoModel.loadCausalLM(base)) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(lm, adapter));
            assertTrue(e.getMessage().contains("unexpected tensor 'base_model.model.model.language_model.layers.7")
                    && !e.getMessage().contains("vision_tower"), e.getMessage());
        }
    }

    /**
     * An adapter saved by PEFT on Gemma 3 under transformers 4.50's names ({@code language_model.model.layers...})
     * loads onto the language model: the module paths are read in transformers 5's naming.
     */
    @Test
    void anAdapterSavedUnderTransformers450NamesLoads(@TempDir Path tmp) throws Exception {
        Path base = Gemma3MultimodalFolders.write(tmp.resolve("gemma3"), Gemma3MultimodalFolders.Names.TRANSFORMERS_5);
        Path adapter = tmp.resolve("adapter");
        long[][] ids = {{3, 1, 4, 1, 5, 9, 2, 6}};
        float[][][] before;
        try (LanguageModel lm = AutoModel.loadCausalLM(base)) {
            PeftModel model = Peft.wrap(lm, LoraConfig.builder().r(2).loraAlpha(4).targetModules("q_proj", "o_proj")
                    .initLoraWeights(LoraInit.RANDOM).build(), 9);
            before = model.logits(ids, null);
            model.save(adapter);
        }
        Path file = adapter.resolve("adapter_model.safetensors");
        Path older = adapter.resolve("older.safetensors");
        try (SafetensorsFile saved = SafetensorsFile.open(file)) {
            Map<String, Tensor> renamed = new LinkedHashMap<>();
            saved.names().forEach(n -> renamed.put(n.replace("base_model.model.model.language_model.",
                    "base_model.model.language_model.model."), saved.tensor(n)));
            assertTrue(renamed.keySet().stream().allMatch(n -> n.startsWith("base_model.model.language_model.model.layers.")));
            SafetensorsWriter.write(older, renamed, Map.of("format", "pt"));
        }
        Files.move(older, file, StandardCopyOption.REPLACE_EXISTING);
        try (LanguageModel lm = AutoModel.loadCausalLM(base)) {
            float[][][] after = Peft.load(lm, adapter).logits(ids, null);
            for (int t = 0; t < ids[0].length; t++) {
                assertArrayEquals(before[0][t], after[0][t], 1e-6f, "position " + t);
            }
        }
    }

    /** Rewrites {@code adapter}'s weights file with zero tensors of the given shapes added. */
    private static void addTensors(Path adapter, Map<String, int[]> added) throws Exception {
        Path file = adapter.resolve("adapter_model.safetensors");
        Path next = adapter.resolve("next.safetensors");
        try (SafetensorsFile saved = SafetensorsFile.open(file); TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            saved.names().forEach(n -> tensors.put(n, saved.tensor(n)));
            added.forEach((n, shape) -> tensors.put(n, Tensor.zeros(scope, DType.F32, Shape.of(shape))));
            SafetensorsWriter.write(next, tensors, Map.of("format", "pt"));
        }
        Files.move(next, file, StandardCopyOption.REPLACE_EXISTING);
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
