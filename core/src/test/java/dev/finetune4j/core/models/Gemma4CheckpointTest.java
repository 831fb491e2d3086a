package dev.finetune4j.core.models;

import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gemma 4's checkpoints beyond the logits that FamilyReferencesTest checks: each layer's {@code layer_scalar} is a
 * buffer in transformers ({@code nn.Buffer}), so it loads and saves with the weights but never trains.
 */
class Gemma4CheckpointTest {
    private static final String TEXT = "references/gemma4_text";

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
}
