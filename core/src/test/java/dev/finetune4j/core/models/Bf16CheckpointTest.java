package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bf16 checkpoint stays bf16: its weights are the mapped file (no anonymous copy), and its logits equal those
 * of the same bf16-rounded weights stored as float32.
 */
class Bf16CheckpointTest {
    private static final long[][] IDS = {{5, 17, 3, 9, 12, 40, 2, 7}};

    @Test
    void bf16WeightsGiveTheLogitsOfTheirFloat32Rounding(@TempDir Path tmp) throws Exception {
        Path source = ReferenceData.resource("hf-tiny/llama");
        Path bf16 = ModelFolders.converted(source, tmp.resolve("bf16"), DType.BF16);
        Path rounded = ModelFolders.converted(bf16, tmp.resolve("rounded-f32"), DType.F32);
        LoadOptions cpu = LoadOptions.builder().device(Device.cpu()).build();
        try (LanguageModel lm16 = AutoModel.loadCausalLM(bf16, cpu);
             LanguageModel lm32 = AutoModel.loadCausalLM(rounded, cpu);
             LanguageModel converted = AutoModel.loadCausalLM(bf16, LoadOptions.builder().dtype(DType.F32).device(Device.cpu()).build())) {
            Tensor w = lm16.stateDict().get("model.layers.0.mlp.up_proj.weight");
            assertEquals(DType.BF16, w.dtype(), "the checkpoint's dtype is kept");
            assertEquals(0, lm16.parameterScope().allocatedBytes(), "every weight is a view of the mapped file");
            assertEquals(DType.F32, converted.stateDict().get("model.layers.0.mlp.up_proj.weight").dtype());
            assertClose(lm32.logits(IDS, null), lm16.logits(IDS, null));
            assertClose(lm32.logits(IDS, null), converted.logits(IDS, null));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.getFlat(0));
            assertTrue(e.getMessage().contains("BF16"), e.getMessage());
        }
    }

    private static void assertClose(float[][][] expected, float[][][] actual) {
        double worst = 0;
        for (int t = 0; t < expected[0].length; t++) {
            for (int v = 0; v < expected[0][t].length; v++) {
                worst = Math.max(worst, Math.abs(expected[0][t][v] - actual[0][t][v]));
            }
        }
        assertTrue(worst < 1e-5, "largest logit difference " + worst);
    }
}
