package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gpt-oss's MXFP4 experts: the packing by hand, the published folder layout against the same model stored in
 * float32 (tools/reference/families_torch.py writes both from the same weights), and the refusal of checkpoints
 * quantized by other methods.
 */
class Mxfp4Test {
    private static final String NAME = "model.layers.0.mlp.experts.down_proj";

    /**
     * One expert of K = 32 rows and N = 2 columns. Column 0: byte 0x21 (low nibble 1 = 0.5, high nibble 2 = 1) under
     * scale 127 (x1); column 1: byte 0xF8 (low 8 = -0, high 15 = -6) under scale 128 (x2); every other byte 0.
     */
    @Test
    void dequantizesLowNibbleFirstScaledAndTransposed(@TempDir Path dir) throws Exception {
        byte[] blocks = new byte[2 * 16];
        blocks[0] = 0x21;
        blocks[16] = (byte) 0xF8;
        writePacked(dir, blocks, new byte[]{127, (byte) 128}, 2);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir); var scope = TensorScope.open()) {
            Tensor w = Mxfp4.dequantize(ckpt, NAME, Shape.of(1, 32, 2), DType.F32, scope);
            float[] expected = new float[32 * 2];
            expected[0] = 0.5f;   // (k 0, n 0)
            expected[2] = 1f;     // (k 1, n 0)
            expected[1] = -0f;    // (k 0, n 1)
            expected[3] = -12f;   // (k 1, n 1)
            assertArrayEquals(expected, w.toFloatArray());
            assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(w.toFloatArray()[1]), "the sign of zero");
        }
    }

    @Test
    void refusesBlocksThatDoNotPackTheShape(@TempDir Path dir) throws Exception {
        writePacked(dir, new byte[2 * 16], new byte[2], 2);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir); var scope = TensorScope.open()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Mxfp4.dequantize(ckpt, NAME, Shape.of(1, 32, 3), DType.F32, scope));
            assertTrue(e.getMessage().contains("expected U8[1, 3, 1, 16]"), e.getMessage());
        }
    }

    /** The folder as openai/gpt-oss-20b is published (experts as blocks and scales) is the float32 folder's model. */
    @Test
    void publishedMxfp4FolderLoadsToTheSameWeightsAndLogits() throws Exception {
        try (LanguageModel packed = AutoModel.loadCausalLM(ReferenceData.resource("references/gpt_oss_mxfp4"));
             LanguageModel plain = AutoModel.loadCausalLM(ReferenceData.resource("references/gpt_oss"));
             var scope = TensorScope.open()) {
            Map<String, Tensor> expected = plain.stateDict();
            for (Map.Entry<String, Tensor> e : packed.stateDict().entrySet()) {
                assertArrayEquals(expected.get(e.getKey()).toFloatArray(), e.getValue().to(DType.F32).toFloatArray(),
                        e.getKey());
            }
            assertEquals(DType.BF16, packed.stateDict().get("model.layers.1.mlp.experts.gate_up_proj").dtype(),
                    "dequantized to bf16, exactly, unless another dtype is asked for");
            ReferenceData ref = ReferenceData.load("references/gpt_oss/reference.safetensors");
            float[] logits = packed.forward(ModelInput.of(ref.ids("input_ids"), null)).toFloatArray();
            float[] want = ref.floats.get("logits");
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], logits[i], 1e-4, "logit " + i);
            }
        }
    }

    /** QLoRA of the published layout: its experts end in NF4, the same codes as the float folder's under NF4. */
    @Test
    void publishedMxfp4FolderLoadsIntoNf4() {
        LoadOptions nf4 = LoadOptions.builder().quantization(Quantization.NF4).build();
        try (LanguageModel packed = AutoModel.loadCausalLM(ReferenceData.resource("references/gpt_oss_mxfp4"), nf4);
             LanguageModel plain = AutoModel.loadCausalLM(ReferenceData.resource("references/gpt_oss"), nf4);
             var scope = TensorScope.open()) {
            for (String name : new String[]{"model.layers.0.mlp.experts.gate_up_proj", "model.layers.1.mlp.experts.down_proj"}) {
                Tensor q = packed.stateDict().get(name);
                assertEquals(DType.NF4, q.dtype(), name);
                assertArrayEquals(plain.stateDict().get(name).convertTo(DType.F32, scope).toFloatArray(),
                        q.convertTo(DType.F32, scope).toFloatArray(), name);
            }
        }
    }

    /** Saved, the dequantized experts are plain tensors, and the config no longer claims MXFP4. */
    @Test
    void savedFolderHoldsTheDequantizedExpertsWithoutTheQuantizationConfig(@TempDir Path dir) throws Exception {
        Path saved = dir.resolve("saved");
        try (LanguageModel packed = AutoModel.loadCausalLM(ReferenceData.resource("references/gpt_oss_mxfp4"))) {
            HfModelFolder.save(packed, saved);
        }
        assertTrue(new ObjectMapper().readTree(saved.resolve("config.json").toFile()).path("quantization_config")
                .isMissingNode());
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(saved)) {
            assertTrue(ckpt.contains("model.layers.0.mlp.experts.gate_up_proj")
                    && !ckpt.contains("model.layers.0.mlp.experts.gate_up_proj_blocks"));
        }
        try (LanguageModel reloaded = AutoModel.loadCausalLM(saved);
             LanguageModel plain = AutoModel.loadCausalLM(ReferenceData.resource("references/gpt_oss"));
             var scope = TensorScope.open()) {
            Tensor expected = plain.stateDict().get("model.layers.1.mlp.experts.down_proj");
            assertArrayEquals(expected.toFloatArray(),
                    reloaded.stateDict().get("model.layers.1.mlp.experts.down_proj").to(DType.F32).toFloatArray());
        }
    }

    @Test
    void checkpointsQuantizedByOtherMethodsAreRefused(@TempDir Path dir) throws Exception {
        Path source = ReferenceData.resource("references/gpt_oss");
        Files.copy(source.resolve("model.safetensors"), dir.resolve("model.safetensors"), StandardCopyOption.REPLACE_EXISTING);
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(source.resolve("config.json").toFile());
        config.putObject("quantization_config").put("quant_method", "gptq").put("bits", 4);
        json.writeValue(dir.resolve("config.json").toFile(), config);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadCausalLM(dir));
        assertTrue(e.getMessage().contains("quant_method = 'gptq'") && e.getMessage().contains("NF4"), e.getMessage());
    }

    private static void writePacked(Path dir, byte[] blocks, byte[] scales, int columns) throws Exception {
        try (var scope = TensorScope.open()) {
            Tensor b = Tensor.wrap(scope, MemorySegment.ofArray(blocks), DType.U8, Shape.of(1, columns, 1, 16));
            Tensor s = Tensor.wrap(scope, MemorySegment.ofArray(scales), DType.U8, Shape.of(1, columns, 1));
            SafetensorsWriter.write(dir.resolve("model.safetensors"), Map.of(NAME + "_blocks", b, NAME + "_scales", s),
                    null);
        }
    }
}
