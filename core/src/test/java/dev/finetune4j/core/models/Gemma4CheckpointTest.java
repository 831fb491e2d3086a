package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderLayout;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.Gemma4Config;
import dev.finetune4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static dev.finetune4j.core.models.HfReferenceModelsTest.flatten;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gemma 4's checkpoints beyond the logits that FamilyReferencesTest checks: each layer's {@code layer_scalar} is a
 * buffer in transformers ({@code nn.Buffer}), so it loads and saves with the weights but never trains; and the
 * {@code gemma4} vision-language folders ({@link Gemma4MultimodalFolders}), whose language model gives the text
 * fixture's transformers logits, named as on Gemma4ForConditionalGeneration, the towers left on disk and saved again.
 * The mixture beside the MLP ({@code enable_moe_block}) has no block module of its own: its tensors are the layer's.
 */
class Gemma4CheckpointTest {
    private static final String TEXT = "references/gemma4_text";
    private static final String MOE = "references/gemma4_text_moe";

    @Test
    void layerScalarLoadsAndSavesButNeverTrains(@TempDir Path tmp) throws Exception {
        Path src = ReferenceFolders.copy(TEXT, List.of("config.json", "model.safetensors"), tmp.resolve("src"));
        String name = "model.layers.2.layer_scalar";
        float stored;
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(src)) {
            stored = ckpt.tensor(name).toFloatArray()[0];
        }
        assertNotEquals(1f, stored, "the fixture's scalars are drawn away from a fresh model's 1");
        try (LanguageModel model = AutoModel.loadCausalLM(src)) {
            assertEquals(stored, model.stateDict().get(name).toFloatArray()[0]);
            model.requiresGrad(true);
            assertTrue(model.bufferNames().contains(name), model.bufferNames().toString());
            assertEquals(4, model.bufferNames().size(), "one layer_scalar per layer, nothing else");
            assertFalse(model.trainableParameters().containsKey(name), "a full fine-tuning leaves the buffer fixed");
            assertTrue(model.trainableParameters().containsKey("model.layers.2.self_attn.q_proj.weight"));
            HfModelFolder.save(model, tmp.resolve("out"));
        }
        try (SafetensorsCheckpoint saved = SafetensorsCheckpoint.open(tmp.resolve("out"))) {
            Tensor again = saved.tensor(name);
            assertEquals(stored, again.toFloatArray()[0], "saved for transformers' strict load");
        }
    }

    /**
     * The router's and experts' tensors load from and save to the layer's own names, exactly the file's tensors (a
     * block module between would rename them, and transformers' strict load would refuse the saved folder); a full
     * fine-tuning trains the router's scales and the stacked experts.
     */
    @Test
    void theMixtureBesideTheMlpKeepsTheLayersOwnNames(@TempDir Path tmp) throws Exception {
        Path src = ReferenceFolders.copy(MOE, List.of("config.json", "model.safetensors"), tmp.resolve("src"));
        Set<String> stored;
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(src)) {
            stored = new TreeSet<>(ckpt.names());
        }
        assertTrue(stored.containsAll(List.of("model.layers.1.router.proj.weight", "model.layers.1.router.scale",
                "model.layers.1.router.per_expert_scale", "model.layers.1.experts.gate_up_proj",
                "model.layers.1.experts.down_proj", "model.layers.1.pre_feedforward_layernorm_2.weight",
                "model.layers.1.post_feedforward_layernorm_1.weight", "model.layers.1.post_feedforward_layernorm_2.weight",
                "model.layers.1.mlp.gate_proj.weight")), stored.toString());
        try (LanguageModel model = AutoModel.loadCausalLM(src)) {
            assertEquals(stored, new TreeSet<>(model.stateDict().keySet()), "no tensor left out, renamed or added");
            assertArrayEquals(new int[]{4, 32, 32}, model.stateDict().get("model.layers.0.experts.gate_up_proj").shape()
                    .dims(), "(E, 2I, C) as transformers holds it");
            model.requiresGrad(true);
            assertTrue(model.trainableParameters().keySet().containsAll(List.of("model.layers.0.router.scale",
                    "model.layers.0.router.per_expert_scale", "model.layers.0.experts.down_proj")));
            HfModelFolder.save(model, tmp.resolve("out"));
        }
        try (SafetensorsCheckpoint saved = SafetensorsCheckpoint.open(tmp.resolve("out"));
             SafetensorsCheckpoint original = SafetensorsCheckpoint.open(src)) {
            assertEquals(stored, new TreeSet<>(saved.names()));
            String scale = "model.layers.0.router.per_expert_scale";
            assertArrayEquals(original.tensor(scale).toFloatArray(), saved.tensor(scale).toFloatArray());
        }
    }

    @Test
    void aVisionLanguageFolderRunsItsLanguageModelAsTransformersDoes(@TempDir Path tmp) throws Exception {
        Path dir = Gemma4MultimodalFolders.write(tmp.resolve("gemma4"));
        ReferenceData ref = ReferenceData.load(TEXT + "/reference.safetensors");
        long[][] ids = ref.ids("input_ids");
        try (LanguageModel model = AutoModel.loadCausalLM(dir, ReferenceData.f32(Device.cpu()))) {
            assertEquals("gemma4", model.spec().modelType());
            assertEquals(DecoderLayout.GEMMA4_CONDITIONAL_GENERATION, ((DecoderModel) model).layout());
            assertTrue(model.stateDict().keySet().stream().allMatch(n -> n.startsWith("model.language_model.")),
                    "tied, the towers left out: " + model.stateDict().keySet());
            assertTrue(model.stateDict().containsKey("model.language_model.embed_tokens_per_layer.weight"));
            float[] logits = flatten(model.logits(ids, null));
            float[] expected = ref.floats.get("logits");
            double worst = 0;
            for (int i = 0; i < expected.length; i++) {
                worst = Math.max(worst, Math.abs(expected[i] - logits[i]));
            }
            assertTrue(worst < 1e-4, "transformers' logits of " + TEXT + ": max |diff| " + worst);
            HfModelFolder.save(model, tmp.resolve("out"));
        }
        try (SafetensorsCheckpoint saved = SafetensorsCheckpoint.open(tmp.resolve("out"))) {
            for (String tower : Gemma4MultimodalFolders.VISION_TENSORS.keySet()) {
                assertTrue(saved.contains(tower), tower + " copied back, so that transformers loads the folder");
            }
            assertTrue(saved.contains("model.language_model.layers.3.layer_scalar"));
        }
    }

    /**
     * A text_config that leaves everything out takes Gemma4TextConfig's defaults (gemma-4-E2B's shape); the published
     * {@code "vision"} bidirectional mask is accepted, since text stays causal under it.
     */
    @Test
    void aBareTextConfigTakesGemma4TextConfigsDefaults() {
        ObjectNode c = new ObjectMapper().createObjectNode().put("model_type", "gemma4");
        c.putObject("text_config").put("use_bidirectional_attention", "vision");
        DecoderConfig text = DecoderConfig.fromJson(VisionLanguageCheckpoint.GEMMA4.textConfig(c));
        assertEquals(Gemma4Config.MODEL_TYPE, text.modelType());
        assertEquals(2304, text.hiddenSize());
        assertEquals(30, text.numHiddenLayers());
        assertEquals(512, text.layerShapes().headDim(29), "the last layer is full, its heads global_head_dim");
        assertEquals(256, text.layerShapes().headDim(0));
        assertEquals(256, text.gemma4().perLayerInputSize());
        assertTrue(text.tieWordEmbeddings());
        assertTrue(VisionLanguageCheckpoint.GEMMA4.isLeftOut("model.audio_tower.conformer.0.norm.weight"));
        assertTrue(VisionLanguageCheckpoint.GEMMA4.isLeftOut("model.embed_vision.embedding_projection.weight"));
        assertFalse(VisionLanguageCheckpoint.GEMMA4.isLeftOut("model.language_model.norm.weight"));
    }

}
