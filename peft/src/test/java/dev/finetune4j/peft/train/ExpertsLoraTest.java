package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.DType;
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

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA on gpt-oss's stacked experts (PEFT's {@code target_parameters}): PEFT's keys and shapes, its update
 * {@code W[e] + s A_e^T B_e^T} (A_e: rows {@code [e r, (e + 1) r)} of A, B_e: columns {@code j E + e} of B, written
 * out here as PEFT's einsum reads) against a base model carrying that update by hand, merge, unmerge and unload, the saved
 * config, training with finite-difference gradients, and the refusals.
 */
class ExpertsLoraTest {
    private static final String PREFIX = "base_model.model.model.layers.0.mlp.experts.";
    /** The tiny gpt-oss's sizes: hidden 32, experts 4 of width 48. */
    private static final int C = 32;
    private static final int I = 48;
    private static final int E = 4;
    private static final int R = 2;
    private static final long[][] IDS = {{3, 9, 27, 17, 51, 12, 40}, {8, 8, 2, 63, 30, 5, 19}};

    private static LoraConfig.Builder bothMatrices() {
        return LoraConfig.builder().r(R).loraAlpha(6).targetParameters("mlp.experts.gate_up_proj", "mlp.experts.down_proj");
    }

    /** The first listed parameter is wrapped first, inside: PEFT's keys for a layer with both targeted. */
    @Test
    void keysAndShapesArePefts() {
        try (PeftModel model = Peft.wrap(NewFamiliesTrainTest.tiny("gpt_oss"), bothMatrices().build())) {
            Map<String, Tensor> saved = model.adapterTensors();
            assertEquals(List.of(R * E, C), dims(saved.get(PREFIX + "base_layer.lora_A.weight")), "gate_up's A");
            assertEquals(List.of(2 * I, R * E), dims(saved.get(PREFIX + "base_layer.lora_B.weight")), "gate_up's B");
            assertEquals(List.of(R * E, I), dims(saved.get(PREFIX + "lora_A.weight")), "down's A");
            assertEquals(List.of(C, R * E), dims(saved.get(PREFIX + "lora_B.weight")), "down's B");
            assertEquals(8, saved.size(), "2 layers x 2 parameters x A and B, and no module adapted: " + saved.keySet());
        }
    }

    /**
     * With random A and B, the adapted model's logits are those of the base model whose stacked weights carry the
     * update by hand; merging writes that update into the weights and unmerging restores them bit for bit.
     */
    @Test
    void updateIsPeftsAndMergesAndUnmerges() {
        float[][][] adapted;
        Map<String, float[]> merged;
        Map<String, float[]> original;
        Map<String, float[]> byHand;
        try (PeftModel model = Peft.wrap(NewFamiliesTrainTest.tiny("gpt_oss"), bothMatrices().build())) {
            SplittableRandom random = new SplittableRandom(11);
            model.adapterTensors().values().forEach(t -> StateDicts.fill(t, () -> 0.2 * StateDicts.gaussian(random)));
            original = experts(model.base());
            byHand = updatedByHand(original, model.adapterTensors(), 6.0 / R);
            adapted = model.logits(IDS, null);
            model.merge();
            merged = experts(model.base());
            assertLogitsClose(adapted, model.logits(IDS, null), "merged");
            model.unmerge();
            experts(model.base()).forEach((k, v) -> assertArrayEquals(original.get(k), v, "unmerged " + k));
            Map<String, float[]> unloaded = experts(model.mergeAndUnload());
            byHand.forEach((k, v) -> assertArrayEquals(v, unloaded.get(k), 1e-5f, "merged and unloaded " + k));
        }
        byHand.forEach((k, v) -> assertArrayEquals(v, merged.get(k), 1e-5f, "merged " + k));
        try (LanguageModel base = NewFamiliesTrainTest.tiny("gpt_oss"); var scope = TensorScope.open()) {
            byHand.forEach((k, v) -> base.stateDict().get(k).copyFrom(v));
            assertLogitsClose(adapted, base.logits(IDS, null), "the base with the update by hand");
        }
    }

    @Test
    void savedConfigNamesTheParametersAndReloadsTheSameModel(@TempDir Path dir) throws Exception {
        float[][][] trained;
        try (PeftModel model = Peft.wrap(NewFamiliesTrainTest.tiny("gpt_oss"), bothMatrices().build())) {
            SplittableRandom random = new SplittableRandom(12);
            model.adapterTensors().values().forEach(t -> StateDicts.fill(t, () -> 0.2 * StateDicts.gaussian(random)));
            trained = model.logits(IDS, null);
            model.save(dir);
        }
        JsonNode config = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        assertEquals("[\"mlp.experts.gate_up_proj\",\"mlp.experts.down_proj\"]", config.get("target_parameters").toString());
        assertEquals("[]", config.get("target_modules").toString(), "no module: PEFT must not add its defaults");
        try (PeftModel reloaded = Peft.load(NewFamiliesTrainTest.tiny("gpt_oss"), dir)) {
            assertLogitsClose(trained, reloaded.logits(IDS, null), "reloaded");
        }
    }

    /** The experts' adapters train through the routing; their gradients agree with finite differences. */
    @Test
    void trainsAndItsGradientsMatchFiniteDifferences() {
        try (PeftModel model = Peft.wrap(NewFamiliesTrainTest.tiny("gpt_oss"),
                bothMatrices().targetModules("q_proj").build())) {
            NewFamiliesTrainTest.assertTrainsAndMatchesFiniteDifferences("gpt_oss experts", model, 1e-2, false);
        }
    }

    /**
     * QLoRA of gpt-oss: its stacked experts in NF4 (each expert's slice dequantized for its product) under their own
     * adapters; the loss falls, the gradients agree with finite differences, and merging requantizes the update.
     */
    @Test
    void qloraOnTheExperts() {
        try (PeftModel model = QloraInjector.wrap(NewFamiliesTrainTest.tiny("gpt_oss"), bothMatrices().build());
             var scope = TensorScope.open()) {
            assertEquals(DType.NF4, model.base().stateDict().get(
                    "model.layers.0.mlp.experts.base_layer.base_layer.gate_up_proj").dtype());
            NewFamiliesTrainTest.assertTrainsAndMatchesFiniteDifferences("gpt_oss experts under QLoRA", model, 1e-2, false);
            float[][][] adapted = model.logits(IDS, null);
            model.merge();
            assertEquals(DType.NF4, model.base().stateDict().get(
                    "model.layers.0.mlp.experts.base_layer.base_layer.gate_up_proj").dtype(), "requantized");
            float[][][] merged = model.logits(IDS, null);
            double worst = 0;
            for (int b = 0; b < IDS.length; b++) {
                for (int t = 0; t < IDS[0].length; t++) {
                    for (int v = 0; v < adapted[b][t].length; v++) {
                        worst = Math.max(worst, Math.abs(adapted[b][t][v] - merged[b][t][v]));
                    }
                }
            }
            assertTrue(worst < 0.05, "merged into NF4, the logits move by NF4's rounding only: " + worst);
        }
    }

    @Test
    void whatPeftRefusesOrWhatIsNoStackedMatrixIsRefused() {
        IllegalArgumentException dropout = assertThrows(IllegalArgumentException.class,
                () -> bothMatrices().loraDropout(0.1).build());
        assertTrue(dropout.getMessage().contains("lora_dropout = 0.1"), dropout.getMessage());
        assertThrows(IllegalArgumentException.class, () -> bothMatrices().useDora(true).build());
        try (LanguageModel base = NewFamiliesTrainTest.tiny("gpt_oss")) {
            PeftException nothing = assertThrows(PeftException.class, () -> Peft.wrap(base,
                    LoraConfig.builder().targetParameters("mlp.experts.up_proj").build()));
            assertTrue(nothing.getMessage().contains("matches no parameter"), nothing.getMessage());
            PeftException sinks = assertThrows(PeftException.class, () -> Peft.wrap(base,
                    LoraConfig.builder().targetParameters("self_attn.sinks").build()));
            assertTrue(sinks.getMessage().contains("'model.layers.0.self_attn.sinks', which is not a stacked expert"),
                    sinks.getMessage());
            PeftException rank = assertThrows(PeftException.class, () -> Peft.wrap(base, bothMatrices()
                    .targetModules("q_proj").rankPattern(Map.of("mlp.experts.down_proj", 1000)).build()));
            assertTrue(rank.getMessage().contains("r = 1000 for 'model.layers.0.mlp.experts.down_proj'"), rank.getMessage());
            assertEquals(0, base.stateDict().keySet().stream().filter(k -> k.contains("lora_")).count(),
                    "a refused config leaves the model as it was, its target modules too");
        }
        try (LanguageModel qwen3VlMoe = AutoModel.loadCausalLM(ServeFixtures.model("references/qwen3_vl_moe"))) {
            PeftException transposed = assertThrows(PeftException.class, () -> Peft.wrap(qwen3VlMoe,
                    LoraConfig.builder().targetParameters("mlp.experts.gate_up_proj").build()));
            assertTrue(transposed.getMessage().contains("holds transposed"), transposed.getMessage());
        }
        try (LanguageModel mistral4 = NewFamiliesTrainTest.tiny("mistral4")) {
            PeftException asWeights = assertThrows(PeftException.class, () -> Peft.wrap(mistral4,
                    LoraConfig.builder().targetParameters("mlp.experts.down_proj").build()));
            assertTrue(asWeights.getMessage().contains("Mistral 4's and Gemma 4's stacked experts, held as linear "
                    + "layers' (out, in) weights"), asWeights.getMessage());
        }
        try (LanguageModel gemma4 = AutoModel.loadCausalLM(ServeFixtures.model("references/gemma4_text_moe"))) {
            PeftException asWeights = assertThrows(PeftException.class, () -> Peft.wrap(gemma4,
                    LoraConfig.builder().targetParameters("experts.gate_up_proj").build()));
            assertTrue(asWeights.getMessage().contains("'model.layers.0.experts.gate_up_proj', Mistral 4's and Gemma 4's"),
                    asWeights.getMessage());
        }
    }

    /** Each stacked expert weight of the model, by its name in the bare model (adapters' base_layer left out). */
    private static Map<String, float[]> experts(LanguageModel model) {
        Map<String, float[]> out = new TreeMap<>();
        model.stateDict().forEach((k, v) -> {
            if (k.endsWith(".gate_up_proj") || k.endsWith(".down_proj")) {
                out.put(k.replace(".base_layer", ""), v.toFloatArray());
            }
        });
        return out;
    }

    /**
     * W[e][i][o] + s sum_j B[o][j E + e] A[e r + j][i] for each stacked weight: PEFT's
     * {@code einsum("o r e, e r i -> e i o", B.reshape(out, r, E), A.reshape(E, r, in))}, in double.
     */
    private static Map<String, float[]> updatedByHand(Map<String, float[]> weights, Map<String, Tensor> adapter,
                                                      double scaling) {
        Map<String, float[]> out = new TreeMap<>();
        weights.forEach((name, w) -> {
            int layer = Integer.parseInt(name.split("\\.")[2]);
            String at = "base_model.model.model.layers." + layer + ".mlp.experts."
                    + (name.endsWith("gate_up_proj") ? "base_layer." : "");
            float[] a = adapter.get(at + "lora_A.weight").toFloatArray();
            float[] b = adapter.get(at + "lora_B.weight").toFloatArray();
            int in = name.endsWith("gate_up_proj") ? C : I;
            int outDim = name.endsWith("gate_up_proj") ? 2 * I : C;
            float[] updated = w.clone();
            for (int e = 0; e < E; e++) {
                for (int i = 0; i < in; i++) {
                    for (int o = 0; o < outDim; o++) {
                        double sum = 0;
                        for (int j = 0; j < R; j++) {
                            sum += (double) b[o * R * E + j * E + e] * a[(e * R + j) * in + i];
                        }
                        updated[(e * in + i) * outDim + o] += (float) (scaling * sum);
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
