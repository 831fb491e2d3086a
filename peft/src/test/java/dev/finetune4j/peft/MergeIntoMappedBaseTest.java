package dev.finetune4j.peft;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Merging LoRA into a memory-mapped bf16 base writes new bf16 weights (the mapped file is read-only): the logits are
 * those of merging in float32 and rounding to bf16, and unmerging puts the original tensors back.
 */
class MergeIntoMappedBaseTest {
    private static final long[][] IDS = {{1, 5, 9, 200, 3, 77, 12, 8}};
    private static final String Q = "model.layers.0.self_attn.q_proj";

    @Test
    void mergeWritesANewBf16WeightAndUnmergeRestoresTheOriginal(@TempDir Path tmp) throws Exception {
        Path bf16 = rewriteAsBf16(Path.of(getClass().getResource("/hf-tiny/llama").toURI()), tmp.resolve("bf16"));
        LoraConfig cfg = LoraConfig.builder().r(4).loraAlpha(8).initLoraWeights(LoraInit.RANDOM)
                .targetModules("q_proj", "v_proj").build();
        LoadOptions cpu = LoadOptions.builder().device(Device.cpu()).build();
        LoadOptions f32 = LoadOptions.builder().device(Device.cpu()).dtype(DType.F32).build();
        try (LanguageModel mapped = AutoModel.loadCausalLM(bf16, cpu); LanguageModel dense = AutoModel.loadCausalLM(bf16, f32)) {
            PeftModel m = Peft.wrap(mapped, cfg, 3);
            PeftModel reference = Peft.wrap(dense, cfg, 3);
            Tensor original = weight(mapped);
            float[] originalValues = original.toFloatArray();
            float[][] before = m.logits(IDS, null)[0];

            m.merge();
            assertEquals(DType.BF16, weight(mapped).dtype(), "merged in the base's dtype");
            reference.merge();
            dense.namedModules().forEach((path, module) -> {
                if (module instanceof Linear l && path.matches(".*[qv]_proj.base_layer")) {
                    Tensor rounded = l.weight().convertTo(DType.BF16, dense.parameterScope());
                    l.setParameter("weight", rounded.convertTo(DType.F32, dense.parameterScope()));
                }
            });
            assertArrayEquals(weight(dense).toFloatArray(), weight(mapped).toFloatArray(), "the same bf16 values");
            assertClose(reference.logits(IDS, null)[0], m.logits(IDS, null)[0]);

            m.unmerge();
            assertSame(original, weight(mapped), "the mapped weight itself is back");
            assertArrayEquals(originalValues, weight(mapped).toFloatArray());
            assertArrayEquals(before[7], m.logits(IDS, null)[0][7]);
        }
    }

    private static Tensor weight(LanguageModel model) {
        Module layer = model.namedModules().get(Q + ".base_layer");
        return ((Linear) (layer != null ? layer : model.namedModules().get(Q))).weight();
    }

    private static void assertClose(float[][] expected, float[][] actual) {
        double worst = 0;
        for (int t = 0; t < expected.length; t++) {
            for (int v = 0; v < expected[t].length; v++) {
                worst = Math.max(worst, Math.abs(expected[t][v] - actual[t][v]));
            }
        }
        assertTrue(worst < 1e-4, "largest logit difference " + worst);
    }

    private static Path rewriteAsBf16(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(from); var scope = TensorScope.detached()) {
            Map<String, Tensor> converted = new LinkedHashMap<>();
            for (String name : ckpt.names()) {
                converted.put(name, ckpt.tensor(name).convertTo(DType.BF16, scope));
            }
            SafetensorsWriter.write(to.resolve("model.safetensors"), converted, Map.of("format", "pt"));
        }
        return to;
    }
}
