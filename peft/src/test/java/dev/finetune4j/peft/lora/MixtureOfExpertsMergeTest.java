package dev.finetune4j.peft.lora;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.HfModelFolder;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.models.ReferenceData;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA on every expert of a mixture goes the whole way: saved under PEFT's names for the per-expert modules and
 * loaded back to the same logits, merged into the experts' weights, and the merged model saved as a Hugging Face
 * folder whose per-expert tensors load as the hub's checkpoints do.
 */
class MixtureOfExpertsMergeTest {
    /**
     * The fixture stores its weights as bf16: loaded as float32, the merge keeps the LoRA delta exactly (merged into
     * bf16 weights it would be rounded, moving the logits by about 1e-2).
     */
    private static final LoadOptions F32 = ReferenceData.f32(Device.cpu());
    private static final long[][] IDS = {{5, 17, 99, 3, 250, 41, 8, 77}, {12, 1, 64, 200, 9, 31, 150, 2}};

    @Test
    void expertAdaptersSaveLoadMergeAndExportAsAHubFolder(@TempDir Path tmp) throws Exception {
        Path base = ReferenceFolders.copy("references/qwen2_moe", List.of("config.json", "model.safetensors"),
                tmp.resolve("base"));
        LoraConfig lora = LoraConfig.builder().r(4).loraAlpha(8).initLoraWeights(LoraInit.RANDOM)
                .targetModules("q_proj", "up_proj", "down_proj").build();
        float[][][] adapted;
        try (LanguageModel model = AutoModel.loadCausalLM(base, F32)) {
            PeftModel peft = Peft.wrap(model, lora, 3);
            adapted = peft.logits(IDS, null);
            peft.save(tmp.resolve("adapter"));
        }
        try (SafetensorsFile saved = SafetensorsFile.open(tmp.resolve("adapter/adapter_model.safetensors"))) {
            assertTrue(saved.names().contains("base_model.model.model.layers.0.mlp.experts.3.up_proj.lora_A.weight"));
            assertTrue(saved.names().contains("base_model.model.model.layers.2.mlp.shared_expert.down_proj.lora_B.weight"));
            assertTrue(saved.names().contains("base_model.model.model.layers.1.mlp.up_proj.lora_A.weight"), "the dense layer");
        }
        float[][][] merged;
        try (LanguageModel model = AutoModel.loadCausalLM(base, F32)) {
            PeftModel loaded = Peft.load(model, tmp.resolve("adapter"));
            assertMaxDifference(adapted, loaded.logits(IDS, null), 0, "the adapter loaded back");
            LanguageModel unloaded = loaded.mergeAndUnload();
            merged = unloaded.logits(IDS, null);
            assertMaxDifference(adapted, merged, 1e-4, "merged into the experts");
            HfModelFolder.save(unloaded, tmp.resolve("merged"));
        }
        try (LanguageModel reloaded = AutoModel.loadCausalLM(tmp.resolve("merged"));
             SafetensorsCheckpoint saved = SafetensorsCheckpoint.open(tmp.resolve("merged"))) {
            assertTrue(saved.contains("model.layers.2.mlp.experts.0.down_proj.weight"));
            assertTrue(saved.contains("model.layers.0.mlp.gate.weight"));
            assertMaxDifference(merged, reloaded.logits(IDS, null), 0, "the merged folder reloaded");
        }
    }

    private static void assertMaxDifference(float[][][] expected, float[][][] actual, double tolerance, String what) {
        double worst = 0;
        for (int b = 0; b < expected.length; b++) {
            for (int t = 0; t < expected[b].length; t++) {
                for (int v = 0; v < expected[b][t].length; v++) {
                    worst = Math.max(worst, Math.abs(expected[b][t][v] - actual[b][t][v]));
                }
            }
        }
        assertTrue(worst <= tolerance, what + ": logits differ by up to " + worst);
        assertEquals(expected.length, actual.length);
    }
}
