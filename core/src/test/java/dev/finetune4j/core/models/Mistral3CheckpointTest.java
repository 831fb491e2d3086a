package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderLayout;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.LatentAttentionConfig;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How a {@code mistral3} config.json becomes its language model's: the text type (Mistral3Config's default
 * {@code mistral}, {@code ministral3} or {@code mistral4}) decides the decoder built, and the head's tie follows transformers (the top
 * level when set, else the text config's). The loaded weights are checked against transformers by
 * FamilyReferencesTest (references/mistral3).
 */
class Mistral3CheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode mistral3(ObjectNode text) {
        ObjectNode c = JSON.createObjectNode().put("model_type", "mistral3");
        c.set("text_config", text.put("vocab_size", 64).put("hidden_size", 32).put("intermediate_size", 48)
                .put("num_hidden_layers", 2).put("num_attention_heads", 4).put("num_key_value_heads", 2));
        return c;
    }

    @Test
    void aTextConfigWithoutModelTypeIsMistralsAndTheModelIsNamedAsMistral3ForConditionalGeneration() {
        ObjectNode c = mistral3(JSON.createObjectNode().putNull("sliding_window"));
        ObjectNode text = VisionLanguageCheckpoint.MISTRAL3.textConfig(c);
        assertEquals("mistral", text.get("model_type").asText());
        try (TensorScope scope = TensorScope.detached(dev.finetune4j.core.backend.Device.meta());
             LanguageModel lm = AutoModel.newCausalLM(c, scope)) {
            DecoderModel model = (DecoderModel) lm;
            assertEquals(DecoderLayout.MISTRAL3_CONDITIONAL_GENERATION, model.layout());
            assertEquals("mistral3", model.spec().modelType());
            assertEquals("mistral", model.config().modelType());
            assertNull(model.config().queryTemperature());
            assertTrue(model.stateDict().containsKey("model.language_model.layers.1.self_attn.q_proj.weight"));
            assertTrue(model.stateDict().containsKey("lm_head.weight"), "Mistral's text config is untied by default");
            assertEquals("language_model.model.norm.weight",
                    DecoderLayout.MISTRAL3_CONDITIONAL_GENERATION.olderName("model.language_model.norm.weight"));
            assertTrue(VisionLanguageCheckpoint.MISTRAL3.isLeftOut("vision_tower.transformer.layers.0.ffn_norm.weight"));
            assertTrue(VisionLanguageCheckpoint.MISTRAL3.isLeftOut("model.multi_modal_projector.linear_1.weight"));
            assertFalse(VisionLanguageCheckpoint.MISTRAL3.isLeftOut("language_model.model.norm.weight"));
        }
    }

    /**
     * Mistral Small 4's folder: a Mistral3ForConditionalGeneration whose text_config is a mistral4. The mistral4
     * reference's config as text_config and its tensors under transformers 4's names (as the hub's files hold them)
     * give that reference's logits (made by transformers from the bare Mistral4ForCausalLM).
     */
    @Test
    void aMistral4TextConfigLoadsAsMistral4UnderTheConditionalGenerationNames(@TempDir Path tmp) throws Exception {
        Path reference = ReferenceData.resource("references/mistral4");
        ObjectNode text = (ObjectNode) JSON.readTree(reference.resolve("config.json").toFile());
        ObjectNode c = JSON.createObjectNode().put("model_type", "mistral3").put("tie_word_embeddings", false);
        c.putArray("architectures").add("Mistral3ForConditionalGeneration");
        c.set("text_config", text);
        JSON.writeValue(tmp.resolve("config.json").toFile(), c);
        Map<String, Tensor> renamed = new LinkedHashMap<>();
        try (TensorScope copies = TensorScope.open()) {
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(reference)) {
                for (String name : ckpt.names()) {
                    renamed.put("language_model." + name, ckpt.tensor(name).convertTo(DType.F32, copies));
                }
            }
            SafetensorsWriter.write(tmp.resolve("model.safetensors"), renamed, Map.of());
        }
        ReferenceData ref = ReferenceData.load("references/mistral4/reference.safetensors");
        try (LanguageModel lm = AutoModel.loadCausalLM(tmp, ReferenceData.f32(Device.cpu()))) {
            DecoderModel model = (DecoderModel) lm;
            assertEquals(LatentAttentionConfig.MISTRAL4_MODEL_TYPE, model.config().modelType());
            assertEquals(DecoderLayout.MISTRAL3_CONDITIONAL_GENERATION, model.layout());
            HfReferenceModelsTest.assertClose(ref.floats.get("logits"),
                    HfReferenceModelsTest.flatten(lm.logits(ref.ids("input_ids"), null)), null, "mistral3(mistral4)");
        }
    }

    @Test
    void ministral3TextConfigsKeepTheirTypeAndTheTopLevelTieWins() {
        ObjectNode c = mistral3(JSON.createObjectNode().put("model_type", "ministral3")
                .put("tie_word_embeddings", true));
        DecoderConfig tiedByText = DecoderConfig.fromJson(VisionLanguageCheckpoint.MISTRAL3.textConfig(c));
        assertEquals(DecoderConfig.MINISTRAL3, tiedByText.modelType());
        assertNotNull(tiedByText.queryTemperature(), "Ministral3Config's default YaRN carries beta 0.1");
        assertTrue(tiedByText.tieWordEmbeddings(), "no top-level tie: the text config's");
        c.put("tie_word_embeddings", false);
        assertFalse(DecoderConfig.fromJson(VisionLanguageCheckpoint.MISTRAL3.textConfig(c)).tieWordEmbeddings());
    }
}
