package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.decoder.DecoderLayout;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Qwen3-VL's language model against references/qwen3_vl (tools/reference/transformers_families.py: a tiny
 * Qwen3VLForConditionalGeneration made by transformers 5.17, tied head, a vision tower beside the language model):
 * the folder loads under that class's names with its vision tower left out, the left-padded batch matches at its
 * real positions, the published config form (transformers 4.57's rope_scaling beside rope_theta) reads the same, the
 * head ties by the top-level flag only, and a saved folder is the whole checkpoint again. FamilyReferencesTest checks
 * the logits, the masked batch, the loss, greedy generation and the gradients.
 */
class Qwen3VlReferenceTest {
    private static final String DIR = "references/qwen3_vl";

    @Test
    void loadsTheLanguageModelUnderTheConditionalGenerationNamesAndLeavesTheVisionTowerOut() throws Exception {
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource(DIR))) {
            assertEquals("qwen3_vl", lm.spec().modelType());
            assertEquals(DecoderLayout.QWEN3_VL_CONDITIONAL_GENERATION, ((DecoderModel) lm).layout());
            assertEquals(List.of("model.visual"), lm.modulesLeftOut());
            Set<String> names = lm.stateDict().keySet();
            assertTrue(names.contains("model.language_model.layers.2.self_attn.k_norm.weight"), names.toString());
            assertFalse(names.contains("lm_head.weight"), "the head is tied to model.language_model.embed_tokens");
            assertTrue(names.stream().noneMatch(n -> n.startsWith("model.visual.")), names.toString());
        }
    }

    @Test
    void leftPaddedBatchMatchesTransformersAtItsRealPositions() throws Exception {
        HfReferenceModelsTest.assertLeftPaddedBatchMatches(DIR);
    }

    /**
     * The hub's config.json (transformers 4.57): rope_theta beside rope_scaling in text_config, which carries the
     * M-RoPE keys, gives the same logits as transformers 5's rope_parameters.
     */
    @Test
    void thePublishedConfigFormGivesTheSameLogits(@TempDir Path tmp) throws Exception {
        Path folder = copyWithConfig(tmp, config -> {
            ObjectNode text = (ObjectNode) config.get("text_config");
            ObjectNode rope = (ObjectNode) text.remove("rope_parameters");
            text.set("rope_theta", rope.remove("rope_theta"));
            text.set("rope_scaling", rope);
        });
        assertSameLogits(folder);
    }

    /** Without the top-level tie_word_embeddings the head is untied (text_config's flag counts for nothing). */
    @Test
    void onlyTheTopLevelFlagTiesTheHead(@TempDir Path tmp) throws Exception {
        Path folder = copyWithConfig(tmp, config -> {
            config.remove("tie_word_embeddings");
            ((ObjectNode) config.get("text_config")).put("tie_word_embeddings", true);
        });
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(folder));
        assertTrue(e.getMessage().contains("lm_head.weight"), e.getMessage());
    }

    @Test
    void aConfigWithoutItsTextModelIsRefusedSayingWhy(@TempDir Path tmp) throws Exception {
        Path noText = copyWithConfig(tmp.resolve("no-text"), config -> config.remove("text_config"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(noText));
        assertTrue(e.getMessage().contains("'text_config'") && e.getMessage().contains("Qwen3VLForConditionalGeneration"),
                e.getMessage());
        Path otherText = copyWithConfig(tmp.resolve("other-text"),
                config -> ((ObjectNode) config.get("text_config")).put("model_type", "qwen3"));
        e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(otherText));
        assertTrue(e.getMessage().contains("text_config.model_type is 'qwen3'") && e.getMessage().contains("qwen3_vl_text"),
                e.getMessage());
        Path mixture = copyWithConfig(tmp.resolve("moe"), config -> config.put("model_type", "qwen3_vl_moe"));
        e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(mixture));
        assertTrue(e.getMessage().contains("text_config.model_type is 'qwen3_vl_text'")
                && e.getMessage().contains("qwen3_vl_moe_text"), e.getMessage());
    }

    /**
     * Saved again, the folder is the Qwen3VLForConditionalGeneration it came from: the same config.json, every tensor
     * of the checkpoint under its name (the vision tower copied bit for bit, no lm_head beside the tied embeddings),
     * and it loads back to the same logits.
     */
    @Test
    void savesTheWholeCheckpointAgain(@TempDir Path tmp) throws Exception {
        Path source = ReferenceData.resource(DIR);
        Path out = tmp.resolve("saved");
        try (LanguageModel lm = AutoModel.loadCausalLM(source)) {
            HfModelFolder.save(lm, out);
        }
        ObjectMapper json = new ObjectMapper();
        assertEquals(json.readTree(source.resolve("config.json").toFile()), json.readTree(out.resolve("config.json").toFile()));
        try (SafetensorsCheckpoint original = SafetensorsCheckpoint.open(source);
             SafetensorsCheckpoint saved = SafetensorsCheckpoint.open(out); var scope = TensorScope.open()) {
            assertEquals(new TreeSet<>(original.names()), new TreeSet<>(saved.names()));
            for (String name : original.names()) {
                assertArrayEquals(original.tensor(name).toFloatArray(), saved.tensor(name).toFloatArray(), name);
            }
        }
        assertSameLogits(out);
    }

    /**
     * Qwen3-VL-MoE saved by transformers 5's own save_pretrained holds each stacked expert matrix as transformers does,
     * transposed from the hub's layout: it loads to the same model as the hub's folder, as transformers reads both.
     */
    @Test
    void aMixtureSavedInTransformersOrientationLoadsAsTheHubs(@TempDir Path tmp) throws Exception {
        Path hub = ReferenceData.resource("references/qwen3_vl_moe");
        Files.copy(hub.resolve("config.json"), tmp.resolve("config.json"));
        int turned = 0;
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(hub); var scope = TensorScope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : ckpt.names()) {
                boolean experts = name.endsWith(".mlp.experts.gate_up_proj") || name.endsWith(".mlp.experts.down_proj");
                tensors.put(name, experts ? ckpt.tensor(name).permute(0, 2, 1).contiguous() : ckpt.tensor(name));
                turned += experts ? 1 : 0;
            }
            SafetensorsWriter.write(tmp.resolve("model.safetensors"), tensors, Map.of());
        }
        assertEquals(4, turned, "two sparse layers' two stacked matrices");
        ReferenceData ref = ReferenceData.load("references/qwen3_vl_moe/reference.safetensors");
        try (LanguageModel fromHub = AutoModel.loadCausalLM(hub); LanguageModel fromTransformers = AutoModel.loadCausalLM(tmp)) {
            assertArrayEquals(HfReferenceModelsTest.flatten(fromHub.logits(ref.ids("input_ids"), null)),
                    HfReferenceModelsTest.flatten(fromTransformers.logits(ref.ids("input_ids"), null)));
        }
    }

    private static Path copyWithConfig(Path tmp, Consumer<ObjectNode> edit) throws IOException {
        Path source = ReferenceData.resource(DIR);
        Files.createDirectories(tmp);
        Files.copy(source.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(source.resolve("config.json").toFile());
        edit.accept(config);
        json.writeValue(tmp.resolve("config.json").toFile(), config);
        return tmp;
    }

    private static void assertSameLogits(Path folder) throws Exception {
        ReferenceData ref = ReferenceData.load(DIR + "/reference.safetensors");
        try (LanguageModel lm = AutoModel.loadCausalLM(folder, ReferenceData.f32(Device.cpu()))) {
            float[][][] logits = lm.logits(ref.ids("input_ids"), null);
            HfReferenceModelsTest.assertClose(ref.floats.get("logits"), HfReferenceModelsTest.flatten(logits), null,
                    folder + " logits");
        }
    }
}
