package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.Gemma3MultimodalFolders.Names;
import dev.finetune4j.core.models.decoder.DecoderLayout;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.finetune4j.core.models.HfReferenceModelsTest.flatten;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The language model of a Gemma3ForConditionalGeneration folder (Gemma3MultimodalFolders: references/gemma3_text's
 * weights under the multimodal names) loads with transformers' module paths, gives the text fixture's reference
 * logits, and is saved back as a whole multimodal folder.
 */
class Gemma3MultimodalTest {

    @ParameterizedTest
    @EnumSource(Names.class)
    void givesTheTextModelsReferenceLogitsUnderEitherNaming(Names names, @TempDir Path tmp) throws Exception {
        Path dir = Gemma3MultimodalFolders.write(tmp.resolve("mm"), names);
        ReferenceData ref = ReferenceData.load(Gemma3MultimodalFolders.TEXT_FIXTURE + "/reference.safetensors");
        long[][] ids = ref.ids("input_ids");
        try (LanguageModel mm = AutoModel.loadCausalLM(dir);
             LanguageModel text = AutoModel.loadCausalLM(ReferenceData.resource(Gemma3MultimodalFolders.TEXT_FIXTURE))) {
            float[] logits = flatten(mm.logits(ids, null));
            assertArrayEquals(flatten(text.logits(ids, null)), logits, "the same weights loaded as gemma3_text");
            assertClose(ref.floats.get("logits"), logits, "transformers' logits of " + Gemma3MultimodalFolders.TEXT_FIXTURE);
            long[][] mask = ref.ids("attention_mask");
            assertArrayEquals(flatten(text.logits(ids, mask)), flatten(mm.logits(ids, mask)), "with padding");
        }
    }

    /** Greedy generation, with the KV cache and without, gives transformers' tokens for the text fixture. */
    @Test
    void generatesTheTextModelsGreedyTokens(@TempDir Path tmp) throws Exception {
        ReferenceData ref = ReferenceData.load(Gemma3MultimodalFolders.TEXT_FIXTURE + "/reference.safetensors");
        long[] prompt = ref.longs.get("greedy_prompt");
        long[] expected = ref.longs.get("greedy_output");
        int newTokens = expected.length - prompt.length;
        try (LanguageModel mm = AutoModel.loadCausalLM(Gemma3MultimodalFolders.write(tmp.resolve("mm"), Names.TRANSFORMERS_5))) {
            assertArrayEquals(expected, Generator.generate(mm, prompt, GenerationConfig.greedy(newTokens)));
            assertArrayEquals(expected, Generator.generate(mm, prompt,
                    GenerationConfig.builder().maxNewTokens(newTokens).useCache(false).build()));
        }
    }

    @Test
    void weightsAndSpecCarryTheMultimodalNames(@TempDir Path tmp) throws Exception {
        try (LanguageModel mm = AutoModel.loadCausalLM(Gemma3MultimodalFolders.write(tmp.resolve("mm"), Names.TRANSFORMERS_5))) {
            assertEquals("gemma3", mm.spec().modelType());
            assertEquals(DecoderLayout.GEMMA3_CONDITIONAL_GENERATION, ((DecoderModel) mm).layout());
            assertEquals(3, mm.spec().numLayers());
            List<String> names = List.copyOf(mm.stateDict().keySet());
            assertTrue(names.contains("model.language_model.embed_tokens.weight"), names.toString());
            assertTrue(names.contains("model.language_model.layers.0.self_attn.q_proj.weight"), names.toString());
            assertTrue(names.contains("model.language_model.norm.weight"), names.toString());
            assertTrue(names.stream().allMatch(n -> n.startsWith("model.language_model.")), "tied: no lm_head, " + names);
            assertTrue(mm.namedModules().containsKey("model.language_model.layers.2.mlp.down_proj"));
        }
    }

    /** The fixture's text_config leaves out rope_theta (1e6), rope_local_base_freq (1e4), the epsilon and more. */
    @Test
    void textConfigFieldsLeftOutTakeGemma3TextConfigsDefaults() {
        ObjectNode text = VisionLanguageCheckpoint.GEMMA3.textConfig(Gemma3MultimodalFolders.config());
        assertEquals("gemma3_text", text.get("model_type").asText());
        assertEquals(1_000_000.0, text.get("rope_theta").asDouble());
        assertEquals(10_000.0, text.get("rope_local_base_freq").asDouble());
        assertEquals(1e-6, text.get("rms_norm_eps").asDouble());
        assertEquals(64, text.get("hidden_size").asInt(), "the checkpoint's own values win");
        assertEquals(262_208, VisionLanguageCheckpoint.GEMMA3.textConfig(new ObjectMapper().createObjectNode().put("model_type", "gemma3")
                .set("text_config", new ObjectMapper().createObjectNode())).get("vocab_size").asInt());
    }

    @Test
    void aTopLevelTieWordEmbeddingsDecidesTheHead(@TempDir Path tmp) throws Exception {
        ObjectNode config = Gemma3MultimodalFolders.config();
        config.put("tie_word_embeddings", false);
        try (LanguageModel mm = AutoModel.newCausalLM(config, TensorScope.detached(Device.meta()))) {
            assertTrue(mm.stateDict().containsKey("lm_head.weight"), "transformers 5 ties by the top-level field");
        }
    }

    @Test
    void aConfigWithoutTextConfigIsRefusedWithWhatToDo() {
        ObjectNode config = Gemma3MultimodalFolders.config();
        config.remove("text_config");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AutoModel.newCausalLM(config, TensorScope.detached(Device.meta())));
        assertTrue(e.getMessage().contains("'text_config'") && e.getMessage().contains("download config.json again"), e.getMessage());
    }

    /**
     * The vision tensors are not counted as the language model's: a config claiming a fourth layer is refused with
     * the missing layer named, though the vision tensors hold more numbers than that layer would.
     */
    @Test
    void visionTensorsDoNotHideMissingLanguageModelWeights(@TempDir Path tmp) throws Exception {
        Path dir = Gemma3MultimodalFolders.write(tmp.resolve("mm"), Names.TRANSFORMERS_5);
        ObjectNode config = Gemma3MultimodalFolders.config();
        ObjectNode text = (ObjectNode) config.get("text_config");
        text.put("num_hidden_layers", 4);
        text.withArray("layer_types").add("sliding_attention");
        new ObjectMapper().writeValue(dir.resolve("config.json").toFile(), config);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir); TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            ckpt.names().forEach(n -> tensors.put(n, ckpt.tensor(n)));
            int[] big = {400, 400}; // 160,000 numbers, more than a layer's 49,152
            tensors.put("model.vision_tower.vision_model.encoder.layers.1.mlp.fc1.weight",
                    Tensor.of(scope, new float[big[0] * big[1]], big));
            SafetensorsWriter.write(dir.resolve("next.safetensors"), tensors, Map.of());
        }
        Files.move(dir.resolve("next.safetensors"), dir.resolve("model.safetensors"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("model.language_model.layers.3."), e.getMessage());
    }

    /** Saved from 4.5x names, the folder holds the vision parts under transformers 5's names and reloads alike. */
    @Test
    void savingWritesTheWholeMultimodalFolderUnderCurrentNames(@TempDir Path tmp) throws Exception {
        Path src = Gemma3MultimodalFolders.write(tmp.resolve("old"), Names.TRANSFORMERS_4_5X);
        Path out = tmp.resolve("saved");
        long[][] ids = {{2, 17, 90, 4, 200}};
        try (LanguageModel mm = AutoModel.loadCausalLM(src)) {
            float[][][] before = mm.logits(ids, null);
            HfModelFolder.save(mm, out);
            try (LanguageModel again = AutoModel.loadCausalLM(out)) {
                assertArrayEquals(before[0][4], again.logits(ids, null)[0][4]);
            }
        }
        assertEquals("gemma3", AutoModel.readConfig(out).get("model_type").asText());
        try (SafetensorsCheckpoint saved = SafetensorsCheckpoint.open(out)) {
            int seed = 1;
            for (Map.Entry<String, int[]> e : Gemma3MultimodalFolders.VISION_TENSORS.entrySet()) {
                assertTrue(saved.contains(e.getKey()), e.getKey() + " in " + saved.names());
                assertArrayEquals(Gemma3MultimodalFolders.values(e.getValue(), seed++), saved.tensor(e.getKey()).toFloatArray(), e.getKey());
            }
            assertTrue(saved.contains("model.language_model.layers.1.mlp.up_proj.weight"));
            assertFalse(saved.names().stream().anyMatch(n -> n.startsWith("language_model.") || n.startsWith("vision_tower.")),
                    saved.names().toString());
        }
    }

    @Test
    void savingWithoutTheVisionTowerOrUnderAnotherConfigIsRefused(@TempDir Path tmp) throws Exception {
        ObjectNode config = Gemma3MultimodalFolders.config();
        try (LanguageModel inMemory = AutoModel.newCausalLM(config, TensorScope.detached())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> HfModelFolder.save(inMemory, config, null, tmp.resolve("a")));
            assertTrue(e.getMessage().contains("vision tower") && e.getMessage().contains("AutoModel.loadCausalLM(folder)"), e.getMessage());
        }
        Path src = Gemma3MultimodalFolders.write(tmp.resolve("mm"), Names.TRANSFORMERS_5);
        try (LanguageModel mm = AutoModel.loadCausalLM(src)) {
            ObjectNode text = VisionLanguageCheckpoint.GEMMA3.textConfig(config);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> HfModelFolder.save(mm, text, null, tmp.resolve("b")));
            assertTrue(e.getMessage().contains("gemma3 config.json"), e.getMessage());
        }
        try (LanguageModel llama = AutoModel.loadCausalLM(ReferenceData.resource("hf-tiny/llama"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> HfModelFolder.save(llama, config, null, tmp.resolve("c")));
            assertTrue(e.getMessage().contains("save it with its own config.json"), e.getMessage());
        }
        assertFalse(Files.exists(tmp.resolve("a")) || Files.exists(tmp.resolve("b")) || Files.exists(tmp.resolve("c")));
    }


    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double worst = 0;
        int where = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i]);
            if (d > worst) {
                worst = d;
                where = i;
            }
        }
        assertTrue(worst < 1e-4, what + ": largest difference " + worst + " at " + where);
    }
}
