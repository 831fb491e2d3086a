package dev.finetune4j.gguf;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The importance matrix against its definition, computed by hand: layer 0's q, k and v projections multiply the
 * RMS-normalised token embedding, so their weights are the mean over the calibration tokens of its square, per
 * feature; matrices that share an input (gate and up) get the same weights.
 */
class ImportanceMatrixTest {
    private static final List<long[]> CALIBRATION = List.of(new long[] {5, 17, 300, 42}, new long[] {1, 2, 3},
            new long[] {});

    @Test
    void layerZerosInputsAreTheNormalisedEmbeddingsMeanSquares() throws Exception {
        ReferenceCase llama = ReferenceCase.byName().get("llama-spm-f32");
        try (LanguageModel model = llama.model()) {
            var before = model.namedModules();
            ImportanceMatrix imatrix = ImportanceMatrix.collect(model, CALIBRATION);
            assertEquals(7, imatrix.tokens());
            float[] expected = meanSquaredNormalisedEmbedding(model, 1e-5);
            for (String m : List.of("attn_q", "attn_k", "attn_v")) {
                float[] got = imatrix.columnWeights("blk.0." + m + ".weight");
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(expected[i], got[i], 1e-5 * expected[i], m + " feature " + i);
                }
            }
            assertArrayEquals(imatrix.columnWeights("blk.1.ffn_gate.weight"), imatrix.columnWeights("blk.1.ffn_up.weight"));
            assertEquals(2 * 7, imatrix.tensorNames().size(), "seven matrices in each of two layers");
            assertNull(imatrix.columnWeights("output.weight"), "the head is not collected, as llama-imatrix's default");
            assertNull(imatrix.columnWeights("token_embd.weight"));
            assertEquals(128, imatrix.columnWeights("blk.1.ffn_down.weight").length, "down multiplies the MLP's 128");
            var after = model.namedModules();
            assertEquals(before.keySet(), after.keySet());
            before.forEach((name, module) -> assertSame(module, after.get(name), "the model's modules are put back"));
        }
    }

    /**
     * Granite 4's input_linear, written as ffn_gate and ffn_up, is recorded once and weights both parts, as llama.cpp
     * multiplies both by the same input; the model gets its modules back.
     */
    @Test
    void aMatrixWrittenInPartsWeightsEachPartByItsInputs() throws Exception {
        ReferenceCase granite4 = ReferenceCase.byName().get("granite4-bytebpe-f32");
        try (LanguageModel model = granite4.model()) {
            var before = model.namedModules();
            // ids within its vocabulary of 272
            ImportanceMatrix imatrix = ImportanceMatrix.collect(model, List.of(new long[] {5, 17, 200, 42},
                    new long[] {1, 2, 3}));
            float[] gate = imatrix.columnWeights("blk.1.ffn_gate.weight");
            assertEquals(64, gate.length, "gate multiplies the hidden size");
            assertArrayEquals(gate, imatrix.columnWeights("blk.1.ffn_up.weight"));
            assertEquals(96, imatrix.columnWeights("blk.1.ffn_down.weight").length, "down multiplies the MLP's 96");
            assertEquals(7, imatrix.counts("blk.1.ffn_up.weight")[0], "every calibration token");
            assertEquals(2 * 7, imatrix.tensorNames().size(), "seven matrices in each of two layers");
            var after = model.namedModules();
            assertEquals(before.keySet(), after.keySet());
            before.forEach((name, module) -> assertSame(module, after.get(name), "the model's modules are put back"));
        }
    }

    @Test
    void anImportanceMatrixFitsOnlyTheModelItCameFromAndOnlyTheMixes() throws Exception {
        ReferenceCase llama = ReferenceCase.byName().get("llama-spm-f32");
        ReferenceCase qwen = ReferenceCase.byName().get("qwen2-bytebpe-f32");
        try (LanguageModel a = llama.model(); LanguageModel b = qwen.model();
             var tokenizer = qwen.loadTokenizer(java.nio.file.Files.createTempDirectory("tok"))) {
            ImportanceMatrix imatrix = ImportanceMatrix.collect(a, CALIBRATION);
            var file = java.nio.file.Files.createTempFile("m", ".gguf");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.export(b, tokenizer, file, GgufType.F16, imatrix, GgufProgress.NONE));
            assertTrue(e.getMessage().contains("only the K-quant and I-quant exports"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> ImportanceMatrix.collect(a, List.of(new long[0])), "no tokens");
            assertThrows(IllegalArgumentException.class,
                    () -> ImportanceMatrix.collect(a, List.of(new long[a.maxPositionEmbeddings() + 1])));
        }
    }

    @Test
    void aSavedMatrixLoadsBackAndGivesTheSameExport(@TempDir Path tmp) throws Exception {
        ReferenceCase llama = ReferenceCase.byName().get("llama-spm-f32");
        try (LanguageModel model = llama.model(); var tokenizer = llama.loadTokenizer(tmp.resolve("tokenizer"))) {
            ImportanceMatrix collected = ImportanceMatrix.collect(model, CALIBRATION);
            ImportanceMatrix loaded = ImportanceMatrix.load(collected.save(tmp.resolve("imatrix.gguf"), "calibration"));
            assertEquals(collected.tensorNames(), loaded.tensorNames());
            assertEquals(collected.tokens(), loaded.tokens());
            for (String name : collected.tensorNames()) {
                assertArrayEquals(collected.columnWeights(name), loaded.columnWeights(name), name);
            }
            Path a = GgufExporter.export(model, tokenizer, tmp.resolve("a.gguf"), GgufType.Q4_K_M, collected,
                    GgufProgress.NONE);
            Path b = GgufExporter.export(model, tokenizer, tmp.resolve("b.gguf"), GgufType.Q4_K_M, loaded,
                    GgufProgress.NONE);
            assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        }
    }

    /** llama.cpp's legacy .dat layout, written by hand: llama-quantize divides each entry's values by its calls. */
    @Test
    void aLegacyDatFileIsReadAsLlamaQuantizeReadsIt(@TempDir Path tmp) throws Exception {
        ByteBuffer dat = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        dat.putInt(2);
        for (String name : List.of("blk.0.attn_q.weight", "blk.0.ffn_down.weight")) {
            dat.putInt(name.length()).put(name.getBytes(StandardCharsets.UTF_8)).putInt(4).putInt(3);
            dat.putFloat(1f).putFloat(2f).putFloat(10f);
        }
        dat.putInt(7).putInt(4).put("wiki".getBytes(StandardCharsets.UTF_8)); // chunks run, dataset
        Path file = tmp.resolve("imatrix.dat");
        Files.write(file, Arrays.copyOf(dat.array(), dat.position()));
        ImportanceMatrix m = ImportanceMatrix.load(file);
        assertEquals(Set.of("blk.0.attn_q.weight", "blk.0.ffn_down.weight"), m.tensorNames());
        assertArrayEquals(new float[] {0.25f, 0.5f, 2.5f}, m.columnWeights("blk.0.ffn_down.weight"));
        assertEquals(4, m.tokens());
    }

    @Test
    void aFileOfAnotherKindIsRefusedWithWhatItIs(@TempDir Path tmp) throws Exception {
        Path text = Files.writeString(tmp.resolve("notes.txt"), "not an importance matrix");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImportanceMatrix.load(text));
        assertTrue(e.getMessage().contains("is not an importance matrix file"), e.getMessage());
        ReferenceCase llama = ReferenceCase.byName().get("llama-spm-f32");
        try (LanguageModel model = llama.model()) {
            Path saved = ImportanceMatrix.collect(model, CALIBRATION).save(tmp.resolve("m.gguf"), "c");
            byte[] bytes = Files.readAllBytes(saved);
            Path cut = Files.write(tmp.resolve("cut.gguf"), Arrays.copyOf(bytes, bytes.length / 2));
            assertThrows(IllegalArgumentException.class, () -> ImportanceMatrix.load(cut), "a truncated file");
        }
    }

    /** mean_t (x_t / rms(x_t) * w)^2 per feature, x_t the embedding of each calibration token, in double. */
    private static float[] meanSquaredNormalisedEmbedding(LanguageModel model, double eps) {
        Tensor embedding = model.stateDict().get("model.embed_tokens.weight");
        float[] table = embedding.toFloatArray();
        float[] norm = model.stateDict().get("model.layers.0.input_layernorm.weight").toFloatArray();
        int c = embedding.dim(1);
        double[] sums = new double[c];
        int tokens = 0;
        for (long[] sequence : CALIBRATION) {
            for (long id : sequence) {
                double ms = 0;
                for (int i = 0; i < c; i++) {
                    ms += (double) table[(int) id * c + i] * table[(int) id * c + i];
                }
                double inv = 1 / Math.sqrt(ms / c + eps);
                for (int i = 0; i < c; i++) {
                    double v = table[(int) id * c + i] * inv * norm[i];
                    sums[i] += v * v;
                }
                tokens++;
            }
        }
        float[] out = new float[c];
        for (int i = 0; i < c; i++) {
            out[i] = (float) (sums[i] / tokens);
        }
        return out;
    }
}
