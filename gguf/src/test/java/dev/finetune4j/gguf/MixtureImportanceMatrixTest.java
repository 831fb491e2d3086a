package dev.finetune4j.gguf;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A mixture's importance matrix against its definition, computed in the test: layer L's experts multiply the
 * post-attention-normed hidden state of the tokens its router sends them (the top k of the router's logits, from the
 * router's own weights), so expert e's gate and up sums are the squares of exactly those inputs, its down sums the
 * squares of {@code silu(w1 x) * (w3 x)} over them and its count their number, as llama-imatrix accumulates
 * {@code GGML_OP_MUL_MAT_ID}; an expert no token reached keeps zero sums and count 0, and weighs every column 1, as
 * llama-quantize does.
 */
class MixtureImportanceMatrixTest {
    private static final ReferenceCase MIXTRAL = ReferenceCase.byName().get("mixtral-spm-f32");
    private static final int EXPERTS = 4;
    private static final int TOP_K = 2;
    private static final List<long[]> CALIBRATION = List.of(new long[] {5, 17, 300, 42, 9}, new long[] {1, 2, 3});

    @Test
    void eachExpertSumsTheSquaresOfExactlyTheNormedInputsRoutedToIt() throws Exception {
        try (LanguageModel model = MIXTRAL.model()) {
            List<InputTap> taps = tapExpertInputs(model);
            ImportanceMatrix imatrix;
            try {
                imatrix = ImportanceMatrix.collect(model, CALIBRATION);
            } finally {
                taps.forEach(InputTap::restore);
            }
            for (int layer = 0; layer < taps.size(); layer++) {
                String blk = "blk." + layer + ".";
                Routed expected = route(model.stateDict(), layer, taps.get(layer).rows);
                assertEquals(8, taps.get(layer).rows.size(), "every calibration token reaches layer " + layer);
                for (String kind : List.of("gate", "up", "down")) {
                    assertArrayEquals(expected.counts, imatrix.counts(blk + "ffn_" + kind + "_exps.weight"),
                            blk + kind + ": tokens per expert");
                }
                assertEquals(8L * TOP_K, Arrays.stream(expected.counts).sum(), "each token meets " + TOP_K + " experts");
                assertClose(expected.inputSums, imatrix.sums(blk + "ffn_gate_exps.weight"), blk + "ffn_gate_exps");
                assertArrayEquals(imatrix.sums(blk + "ffn_gate_exps.weight"), imatrix.sums(blk + "ffn_up_exps.weight"),
                        "gate and up multiply the same inputs");
                assertClose(expected.hiddenSums, imatrix.sums(blk + "ffn_down_exps.weight"), blk + "ffn_down_exps");
                assertArrayEquals(new long[] {8}, imatrix.counts(blk + "ffn_gate_inp.weight"),
                        "the router is a dense matrix over every token");
                assertClose(expected.routerSums, imatrix.sums(blk + "ffn_gate_inp.weight"), blk + "ffn_gate_inp");
            }
        }
    }

    @Test
    void expertsNoTokenReachedKeepZeroSumsAndWeighOneAndSurviveSaveAndLoad(@TempDir Path tmp) throws Exception {
        try (LanguageModel model = MIXTRAL.model(); var tokenizer = MIXTRAL.loadTokenizer(tmp.resolve("tokenizer"))) {
            ImportanceMatrix collected = ImportanceMatrix.collect(model, List.<long[]>of(new long[] {5}));
            for (int layer = 0; layer < 2; layer++) {
                String name = "blk." + layer + ".ffn_down_exps.weight";
                long[] counts = collected.counts(name);
                assertEquals(TOP_K, Arrays.stream(counts).filter(n -> n == 1).count(), name + ": " + Arrays.toString(counts));
                assertEquals(EXPERTS - TOP_K, Arrays.stream(counts).filter(n -> n == 0).count(), name);
                float[] sums = collected.sums(name);
                float[] weights = collected.columnWeights(name);
                int perExpert = sums.length / EXPERTS;
                for (int e = 0; e < EXPERTS; e++) {
                    for (int i = e * perExpert; i < (e + 1) * perExpert; i++) {
                        if (counts[e] == 0) {
                            assertEquals(0f, sums[i], name + " untouched expert " + e + " column " + i);
                            assertEquals(1f, weights[i], name + " untouched expert " + e + " weighs 1, column " + i);
                        } else {
                            assertTrue(sums[i] > 0, name + " expert " + e + " column " + i);
                            assertEquals(sums[i], weights[i], name + " expert " + e + ": one token, weight = sum");
                        }
                    }
                }
            }
            ImportanceMatrix loaded = ImportanceMatrix.load(collected.save(tmp.resolve("imatrix.gguf"), "one token"));
            assertEquals(collected.tensorNames(), loaded.tensorNames());
            for (String name : collected.tensorNames()) {
                assertArrayEquals(collected.counts(name), loaded.counts(name), name);
                assertArrayEquals(collected.sums(name), loaded.sums(name), name);
            }
            Path a = GgufExporter.export(model, tokenizer, tmp.resolve("a.gguf"), GgufType.Q4_K_M, collected,
                    GgufProgress.NONE);
            Path b = GgufExporter.export(model, tokenizer, tmp.resolve("b.gguf"), GgufType.Q4_K_M, loaded,
                    GgufProgress.NONE);
            Path plain = GgufExporter.export(model, tokenizer, tmp.resolve("c.gguf"), GgufType.Q4_K_M,
                    GgufProgress.NONE);
            assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
            assertFalse(Arrays.equals(Files.readAllBytes(a), Files.readAllBytes(plain)), "the matrix shapes the blocks");
        }
    }

    /** llama-imatrix's legacy .dat holds a stacked tensor as every expert's values under one call count. */
    @Test
    void aLegacyDatEntryOfStackedExpertsIsDividedByItsCalls(@TempDir Path tmp) throws Exception {
        String name = "blk.0.ffn_up_exps.weight";
        ByteBuffer dat = ByteBuffer.allocate(128).order(ByteOrder.LITTLE_ENDIAN);
        dat.putInt(1).putInt(name.length()).put(name.getBytes(StandardCharsets.UTF_8)).putInt(2).putInt(4);
        dat.putFloat(1f).putFloat(2f).putFloat(6f).putFloat(8f); // two experts of two columns; 2 calls
        Path file = Files.write(tmp.resolve("imatrix.dat"), Arrays.copyOf(dat.array(), dat.position()));
        ImportanceMatrix m = ImportanceMatrix.load(file);
        assertArrayEquals(new float[] {0.5f, 1f, 3f, 4f}, m.columnWeights(name));
        GgufTensor stacked = new GgufTensor(name, new long[] {2, 3, 2}, GgmlType.F32, sink -> {
        }).withImportance(m.columnWeights(name));
        assertArrayEquals(new float[] {3f, 4f}, stacked.importanceByMatrix()[stacked.matrixOfRow(4)],
                "row 4 is expert 1's second row");
        assertEquals(0, stacked.matrixOfRow(2));
    }

    /** Expert e's sums ({@code inputSums} of the inputs, {@code hiddenSums} of down's inputs) and tokens, in double. */
    private record Routed(long[] counts, float[] inputSums, float[] hiddenSums, float[] routerSums) {
    }

    /** Routes each of layer {@code layer}'s inputs {@code x} (C each) by its router's top k, as the test computes. */
    private static Routed route(Map<String, Tensor> weights, int layer, List<float[]> x) {
        String block = "model.layers." + layer + ".block_sparse_moe.";
        float[] router = weights.get(block + "gate.weight").toFloatArray(); // (E, C)
        int c = x.getFirst().length;
        float[][] w1 = new float[EXPERTS][];
        float[][] w3 = new float[EXPERTS][];
        for (int e = 0; e < EXPERTS; e++) {
            w1[e] = weights.get(block + "experts." + e + ".w1.weight").toFloatArray(); // (I, C)
            w3[e] = weights.get(block + "experts." + e + ".w3.weight").toFloatArray();
        }
        int inner = w1[0].length / c;
        long[] counts = new long[EXPERTS];
        double[] inputs = new double[EXPERTS * c];
        double[] hidden = new double[EXPERTS * inner];
        double[] all = new double[c];
        for (float[] token : x) {
            double[] logits = IntStream.range(0, EXPERTS).mapToDouble(e -> dot(router, e * c, token)).toArray();
            int[] chosen = IntStream.range(0, EXPERTS).boxed()
                    .sorted(Comparator.comparingDouble((Integer e) -> logits[e]).reversed()).limit(TOP_K)
                    .mapToInt(Integer::intValue).toArray();
            for (int i = 0; i < c; i++) {
                all[i] += (double) token[i] * token[i];
            }
            for (int e : chosen) {
                counts[e]++;
                for (int i = 0; i < c; i++) {
                    inputs[e * c + i] += (double) token[i] * token[i];
                }
                for (int j = 0; j < inner; j++) {
                    double gate = dot(w1[e], j * c, token);
                    double h = gate / (1 + Math.exp(-gate)) * dot(w3[e], j * c, token);
                    hidden[e * inner + j] += h * h;
                }
            }
        }
        return new Routed(counts, toFloats(inputs), toFloats(hidden), toFloats(all));
    }

    private static double dot(float[] matrix, int offset, float[] x) {
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += (double) matrix[offset + i] * x[i];
        }
        return s;
    }

    private static float[] toFloats(double[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) v[i];
        }
        return out;
    }

    /** Each value within 1e-4 of the expected one, relatively (float32 sums of float32 products). */
    private static void assertClose(float[] expected, float[] got, String what) {
        assertEquals(expected.length, got.length, what + ": values");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], got[i], 1e-4 * Math.abs(expected[i]) + 1e-7, what + " value " + i);
        }
    }

    /** A tap on each layer's post-attention norm, whose output is what its experts and router multiply. */
    private static List<InputTap> tapExpertInputs(LanguageModel model) {
        Map<String, Module> modules = model.namedModules();
        List<InputTap> taps = new ArrayList<>();
        for (int layer = 0; modules.containsKey("model.layers." + layer); layer++) {
            taps.add(new InputTap(modules.get("model.layers." + layer), "post_attention_layernorm"));
        }
        assertEquals(2, taps.size());
        return taps;
    }

    /** Stands in for a norm: forwards, then keeps each token's output row. */
    private static final class InputTap extends Module implements Layer {
        private final Module parent;
        private final String name;
        private final Layer norm;
        final List<float[]> rows = new ArrayList<>();

        InputTap(Module parent, String name) {
            this.parent = parent;
            this.name = name;
            this.norm = (Layer) parent.children().get(name);
            parent.replaceChild(name, this);
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor y = norm.forward(x);
            float[] values = y.toFloatArray();
            int c = y.dim(y.rank() - 1);
            for (int t = 0; t < values.length / c; t++) {
                rows.add(Arrays.copyOfRange(values, t * c, (t + 1) * c));
            }
            return y;
        }

        void restore() {
            parent.replaceChild(name, (Module) norm);
        }
    }
}
