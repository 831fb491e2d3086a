package dev.finetune4j.gguf;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

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

    @Test
    void anImportanceMatrixFitsOnlyTheModelItCameFromAndOnlyKQuants() throws Exception {
        ReferenceCase llama = ReferenceCase.byName().get("llama-spm-f32");
        ReferenceCase qwen = ReferenceCase.byName().get("qwen2-bytebpe-f32");
        try (LanguageModel a = llama.model(); LanguageModel b = qwen.model();
             var tokenizer = qwen.loadTokenizer(java.nio.file.Files.createTempDirectory("tok"))) {
            ImportanceMatrix imatrix = ImportanceMatrix.collect(a, CALIBRATION);
            var file = java.nio.file.Files.createTempFile("m", ".gguf");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.export(b, tokenizer, file, GgufType.F16, imatrix, GgufProgress.NONE));
            assertTrue(e.getMessage().contains("only the K-quant exports"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> ImportanceMatrix.collect(a, List.of(new long[0])), "no tokens");
            assertThrows(IllegalArgumentException.class,
                    () -> ImportanceMatrix.collect(a, List.of(new long[a.maxPositionEmbeddings() + 1])));
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
