package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Nf4Format;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.qlora.QloraInjector;
import dev.finetune4j.peft.serve.ServeFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA on stacked experts (PEFT's {@code target_parameters}) of gpt-oss (held (E, in, out), multiplied as x W), Mistral 4
 * and Gemma 4 (held as linear layers' (E, out, in) weights, x W^T): PEFT's keys and shapes, its update (A_e: rows
 * {@code [e r, (e + 1) r)} of A, B_e: columns {@code j E + e} of B; {@code s A_e^T B_e^T} added to gpt-oss's
 * (in, out) matrices, {@code s B_e A_e} to the others' (out, in), written out here as PEFT's einsums read) against a
 * base model carrying that update by hand, merge, unmerge and unload, the saved config, training with
 * finite-difference gradients, and the refusals.
 */
class ExpertsLoraTest {
    /** The tiny models' hidden size, expert count and rank. */
    private static final int C = 32;
    private static final int E = 4;
    private static final int R = 2;
    private static final long[][] IDS = {{3, 9, 27, 17, 51, 12, 40}, {8, 8, 2, 63, 30, 5, 19}};

    /**
     * A tiny family of NewFamiliesTrainTest with stacked experts.
     *
     * @param type its model_type key for {@link NewFamiliesTrainTest#tiny}
     * @param experts the experts module's path in a layer, with the trailing dot
     * @param width the experts' width I
     * @param asWeights whether its matrices are held (E, out, in)
     * @param layers the layers with experts
     */
    record Family(String type, String experts, int width, boolean asWeights, List<Integer> layers) {
        @Override
        public String toString() {
            return type;
        }

        LanguageModel tiny() {
            return NewFamiliesTrainTest.tiny(type);
        }

        LoraConfig.Builder bothMatrices() {
            return LoraConfig.builder().r(R).loraAlpha(6).targetParameters(experts + "gate_up_proj", experts + "down_proj");
        }

        String prefix(int layer) {
            return "base_model.model.model.layers." + layer + "." + experts;
        }
    }

    static final Family GPT_OSS = new Family("gpt_oss", "mlp.experts.", 48, false, List.of(0, 1));
    /** Its first layer dense (first_k_dense_replace). */
    static final Family MISTRAL4 = new Family("mistral4", "mlp.experts.", 16, true, List.of(1));
    /** Its experts on the layer, beside the dense MLP. */
    static final Family GEMMA4 = new Family("gemma4_text_moe", "experts.", 16, true, List.of(0, 1));

    static Stream<Family> families() {
        return Stream.of(GPT_OSS, MISTRAL4, GEMMA4);
    }

    /**
     * gate_up_proj, registered first in the experts, is wrapped first, inside: PEFT's keys for a layer with both
     * targeted, the same when the config lists down_proj first or names a parameter twice (PEFT 0.21 nests them so).
     */
    @ParameterizedTest
    @MethodSource("families")
    void keysAndShapesArePefts(Family f) {
        Map<String, List<Integer>> reordered = new TreeMap<>();
        try (PeftModel model = Peft.wrap(f.tiny(), LoraConfig.builder().r(R).loraAlpha(6)
                .targetParameters(f.experts() + "down_proj", "gate_up_proj", f.experts() + "gate_up_proj").build())) {
            model.adapterTensors().forEach((k, v) -> reordered.put(k, dims(v)));
        }
        try (PeftModel model = Peft.wrap(f.tiny(), f.bothMatrices().build())) {
            Map<String, Tensor> saved = model.adapterTensors();
            Map<String, List<Integer>> shapes = new TreeMap<>();
            saved.forEach((k, v) -> shapes.put(k, dims(v)));
            assertEquals(shapes, reordered, "down_proj listed first, gate_up_proj twice");
            for (int layer : f.layers()) {
                String prefix = f.prefix(layer);
                assertEquals(List.of(R * E, C), dims(saved.get(prefix + "base_layer.lora_A.weight")), "gate_up's A");
                assertEquals(List.of(2 * f.width(), R * E), dims(saved.get(prefix + "base_layer.lora_B.weight")),
                        "gate_up's B");
                assertEquals(List.of(R * E, f.width()), dims(saved.get(prefix + "lora_A.weight")), "down's A");
                assertEquals(List.of(C, R * E), dims(saved.get(prefix + "lora_B.weight")), "down's B");
            }
            assertEquals(4 * f.layers().size(), saved.size(),
                    "2 parameters x A and B per layer with experts, and no module adapted: " + saved.keySet());
        }
    }

    /**
     * With random A and B, the adapted model's logits are those of the base model whose stacked weights carry the
     * update by hand; merging writes that update into the weights and unmerging restores them bit for bit.
     */
    @ParameterizedTest
    @MethodSource("families")
    void updateIsPeftsAndMergesAndUnmerges(Family f) {
        float[][][] adapted;
        Map<String, float[]> merged;
        Map<String, float[]> original;
        Map<String, float[]> byHand;
        try (PeftModel model = Peft.wrap(f.tiny(), f.bothMatrices().build())) {
            SplittableRandom random = new SplittableRandom(11);
            model.adapterTensors().values().forEach(t -> StateDicts.fill(t, () -> 0.2 * StateDicts.gaussian(random)));
            original = experts(model.base());
            byHand = updatedByHand(f, original, model.adapterTensors(), 6.0 / R);
            adapted = model.logits(IDS, null);
            model.merge();
            merged = experts(model.base());
            assertLogitsClose(adapted, model.logits(IDS, null), "merged");
            model.unmerge();
            experts(model.base()).forEach((k, v) -> assertArrayEquals(original.get(k), v, "unmerged " + k));
            Map<String, float[]> unloaded = experts(model.mergeAndUnload());
            byHand.forEach((k, v) -> assertArrayEquals(v, unloaded.get(k), 1e-5f, "merged and unloaded " + k));
        }
        assertEquals(2 * f.layers().size(), byHand.size(), byHand.keySet().toString());
        byHand.forEach((k, v) -> assertArrayEquals(v, merged.get(k), 1e-5f, "merged " + k));
        try (LanguageModel base = f.tiny(); var scope = TensorScope.open()) {
            byHand.forEach((k, v) -> base.stateDict().get(k).copyFrom(v));
            assertLogitsClose(adapted, base.logits(IDS, null), "the base with the update by hand");
        }
    }

    @ParameterizedTest
    @MethodSource("families")
    void savedConfigNamesTheParametersAndReloadsTheSameModel(Family f, @TempDir Path dir) throws Exception {
        float[][][] trained;
        try (PeftModel model = Peft.wrap(f.tiny(), f.bothMatrices().build())) {
            SplittableRandom random = new SplittableRandom(12);
            model.adapterTensors().values().forEach(t -> StateDicts.fill(t, () -> 0.2 * StateDicts.gaussian(random)));
            trained = model.logits(IDS, null);
            model.save(dir);
        }
        JsonNode config = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        assertEquals("[\"" + f.experts() + "gate_up_proj\",\"" + f.experts() + "down_proj\"]",
                config.get("target_parameters").toString());
        assertEquals("[]", config.get("target_modules").toString(), "no module: PEFT must not add its defaults");
        try (PeftModel reloaded = Peft.load(f.tiny(), dir)) {
            assertLogitsClose(trained, reloaded.logits(IDS, null), "reloaded");
        }
    }

    /** The experts' adapters train through the routing; their gradients agree with finite differences. */
    @ParameterizedTest
    @MethodSource("families")
    void trainsAndItsGradientsMatchFiniteDifferences(Family f) {
        try (PeftModel model = Peft.wrap(f.tiny(), f.bothMatrices().targetModules("o_proj").build())) {
            NewFamiliesTrainTest.assertTrainsAndMatchesFiniteDifferences(f.type() + " experts", model, 1e-2, false);
        }
    }

    /**
     * QLoRA of gpt-oss and Mistral 4: their stacked experts in NF4 (each expert's slice dequantized for its product)
     * under their own adapters; the loss falls and the gradients agree with finite differences. Merging requantizes
     * the update: with large random adapters, each merged weight is the dequantized one plus PEFT's update by hand,
     * within NF4's rounding (half its widest gap between levels, 0.152, of its block's absmax, with 1% for the
     * absmax's own 8-bit quantization).
     */
    @ParameterizedTest
    @MethodSource("qloraFamilies")
    void qloraOnTheExperts(Family f) {
        String stacked = "model.layers." + f.layers().getFirst() + "." + f.experts() + "base_layer.base_layer.gate_up_proj";
        try (PeftModel model = QloraInjector.wrap(f.tiny(), f.bothMatrices().build());
             var scope = TensorScope.open()) {
            assertEquals(DType.NF4, model.base().stateDict().get(stacked).dtype());
            NewFamiliesTrainTest.assertTrainsAndMatchesFiniteDifferences(f.type() + " experts under QLoRA", model, 1e-2,
                    false);
            SplittableRandom random = new SplittableRandom(13);
            model.adapterTensors().values().forEach(t -> StateDicts.fill(t, () -> 0.2 * StateDicts.gaussian(random)));
            Map<String, float[]> byHand = updatedByHand(f, experts(model.base()), model.adapterTensors(), 6.0 / R);
            model.merge();
            assertEquals(DType.NF4, model.base().stateDict().get(stacked).dtype(), "requantized");
            Map<String, float[]> merged = experts(model.base());
            byHand.forEach((name, expected) -> {
                float[] actual = merged.get(name);
                for (int block = 0; block < expected.length; block += Nf4Format.BLOCK) {
                    float absmax = 0;
                    for (int i = block; i < Math.min(block + Nf4Format.BLOCK, expected.length); i++) {
                        absmax = Math.max(absmax, Math.abs(expected[i]));
                    }
                    for (int i = block; i < Math.min(block + Nf4Format.BLOCK, expected.length); i++) {
                        assertEquals(expected[i], actual[i], 0.16 * absmax, "merged " + name + " at " + i);
                    }
                }
            });
        }
    }

    static Stream<Family> qloraFamilies() {
        return Stream.of(GPT_OSS, MISTRAL4);
    }

    @Test
    void whatPeftRefusesOrWhatIsNoStackedMatrixIsRefused() {
        IllegalArgumentException dropout = assertThrows(IllegalArgumentException.class,
                () -> GPT_OSS.bothMatrices().loraDropout(0.1).build());
        assertTrue(dropout.getMessage().contains("lora_dropout = 0.1"), dropout.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GPT_OSS.bothMatrices().useDora(true).build());
        try (LanguageModel base = GPT_OSS.tiny()) {
            PeftException nothing = assertThrows(PeftException.class, () -> Peft.wrap(base,
                    LoraConfig.builder().targetParameters("mlp.experts.up_proj").build()));
            assertTrue(nothing.getMessage().contains("matches no parameter"), nothing.getMessage());
            PeftException sinks = assertThrows(PeftException.class, () -> Peft.wrap(base,
                    LoraConfig.builder().targetParameters("self_attn.sinks").build()));
            assertTrue(sinks.getMessage().contains("'model.layers.0.self_attn.sinks', which is not a stacked expert"),
                    sinks.getMessage());
            PeftException rank = assertThrows(PeftException.class, () -> Peft.wrap(base, GPT_OSS.bothMatrices()
                    .targetModules("q_proj").rankPattern(Map.of("mlp.experts.down_proj", 1000)).build()));
            assertTrue(rank.getMessage().contains("r = 1000 for 'model.layers.0.mlp.experts.down_proj'"), rank.getMessage());
            assertEquals(0, base.stateDict().keySet().stream().filter(k -> k.contains("lora_")).count(),
                    "a refused config leaves the model as it was, its target modules too");
        }
    }

    /**
     * Qwen3-VL-MoE's experts, held here as its checkpoint stores them, (E, C, 2I) and (E, I, C), which transformers
     * turns to (E, 2I, C) and (E, C, I): the adapter has the shapes PEFT gives it over transformers' model, A (r E, in)
     * and B (out, r E), since these depend on the matrix's in and out alone.
     */
    @Test
    void qwen3VlMoeExpertsHaveTheShapesPeftGivesThemOverTransformers() {
        try (LanguageModel base = AutoModel.loadCausalLM(ServeFixtures.model("references/qwen3_vl_moe"));
             PeftModel model = Peft.wrap(base, LoraConfig.builder().r(R)
                     .targetParameters("mlp.experts.gate_up_proj", "mlp.experts.down_proj").build())) {
            String prefix = "base_model.model.model.language_model.layers.0.mlp.experts.";
            Map<String, Tensor> saved = model.adapterTensors();
            assertEquals(List.of(R * E, C), dims(saved.get(prefix + "base_layer.lora_A.weight")), saved.keySet().toString());
            assertEquals(List.of(2 * 12, R * E), dims(saved.get(prefix + "base_layer.lora_B.weight")));
            assertEquals(List.of(R * E, 12), dims(saved.get(prefix + "lora_A.weight")));
            assertEquals(List.of(C, R * E), dims(saved.get(prefix + "lora_B.weight")));
        }
    }

    /**
     * Each stacked expert weight of the model (dequantized from NF4), by its name in the bare model (adapters'
     * base_layer left out).
     */
    private static Map<String, float[]> experts(LanguageModel model) {
        Map<String, float[]> out = new TreeMap<>();
        model.stateDict().forEach((k, v) -> {
            if (k.endsWith(".gate_up_proj") || k.endsWith(".down_proj")) {
                try (var scope = TensorScope.open()) {
                    out.put(k.replace(".base_layer", ""), v.to(DType.F32).toFloatArray());
                }
            }
        });
        return out;
    }

    /**
     * Each stacked weight plus s sum_j B[o][j E + e] A[e r + j][i] at [e][i][o] (gpt-oss's, PEFT's
     * {@code einsum("o r e, e r i -> e i o", B.reshape(out, r, E), A.reshape(E, r, in))}) or at [e][o][i] (held as
     * weights, {@code "... -> e o i"}), in double.
     */
    private static Map<String, float[]> updatedByHand(Family f, Map<String, float[]> weights, Map<String, Tensor> adapter,
                                                      double scaling) {
        Map<String, float[]> out = new TreeMap<>();
        weights.forEach((name, w) -> {
            int layer = Integer.parseInt(name.split("\\.")[2]);
            boolean gateUp = name.endsWith("gate_up_proj");
            String at = f.prefix(layer) + (gateUp ? "base_layer." : "");
            float[] a = adapter.get(at + "lora_A.weight").toFloatArray();
            float[] b = adapter.get(at + "lora_B.weight").toFloatArray();
            int in = gateUp ? C : f.width();
            int outDim = gateUp ? 2 * f.width() : C;
            float[] updated = w.clone();
            for (int e = 0; e < E; e++) {
                for (int i = 0; i < in; i++) {
                    for (int o = 0; o < outDim; o++) {
                        double sum = 0;
                        for (int j = 0; j < R; j++) {
                            sum += (double) b[o * R * E + j * E + e] * a[(e * R + j) * in + i];
                        }
                        int at3 = f.asWeights() ? (e * outDim + o) * in + i : (e * in + i) * outDim + o;
                        updated[at3] += (float) (scaling * sum);
                    }
                }
            }
            out.put(name, updated);
        });
        return out;
    }

    private static List<Integer> dims(Tensor t) {
        return Arrays.stream(t.shape().dims()).boxed().toList();
    }

    private static void assertLogitsClose(float[][][] expected, float[][][] actual, String what) {
        for (int b = 0; b < expected.length; b++) {
            for (int t = 0; t < expected[b].length; t++) {
                assertArrayEquals(expected[b][t], actual[b][t], 1e-4f, what + " logits of row " + b + ", token " + t);
            }
        }
    }
}
