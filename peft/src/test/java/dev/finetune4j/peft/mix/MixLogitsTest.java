package dev.finetune4j.peft.mix;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.Fixtures;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A mixed adapter, saved and loaded on the base model, computes what the math says: for {@code cat} and for
 * {@code svd} at a rank holding every delta, the base plus the sum of the weighted deltas w_i s_i B_i A_i (built here
 * independently, by merging copies of the source adapters with alpha scaled by w_i into the base one after another);
 * for {@code linear}, the product of the weighted sums of the factors, cross terms included.
 */
class MixLogitsTest {
    private static final long[][] IDS = {{1, 17, 42, 99, 3, 250, 7, 64, 128, 5}};
    private static final double[] WEIGHTS = {0.7, -0.4, 1.5};
    private static final String[] SOURCES = {MixFixture.A, MixFixture.B, MixFixture.C};

    @TempDir
    Path tmp;

    @Test
    void catAndFullRankSvdGiveTheBasePlusTheWeightedDeltas() throws IOException {
        float[][][] expected = baseWithWeightedDeltasMerged();
        float[][][] base = logitsOf(null);
        for (CombinationType type : List.of(CombinationType.CAT, CombinationType.SVD)) {
            Path dir = tmp.resolve(type.pythonName());
            MixOptions options = type == CombinationType.SVD ? MixOptions.builder().svdRank(10).build() : MixOptions.defaults();
            withSources(adapters -> AdapterMix.combine(adapters, type, options).save(dir));
            float[][][] actual = logitsOf(dir);
            assertTrue(largestDifference(base, expected) > 1e-2, "the deltas must move the logits");
            double worst = largestDifference(actual, expected);
            assertTrue(worst < 2e-5, type.pythonName() + ": largest logit difference " + worst);
        }
    }

    @Test
    void savedConfigIsPeftsWithScalingOne() throws IOException {
        Path dir = tmp.resolve("cat");
        withSources(adapters -> AdapterMix.combine(adapters, CombinationType.CAT, MixOptions.defaults()).save(dir));
        JsonNode config = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        assertEquals("LORA", config.path("peft_type").asText());
        assertEquals(10, config.path("r").asInt());
        assertEquals(10, config.path("lora_alpha").asInt());
        assertEquals(false, config.path("use_rslora").asBoolean(true));
        assertEquals(0, config.path("rank_pattern").size());
        assertEquals("LlamaForCausalLM", config.path("auto_mapping").path("base_model_class").asText(),
                "the first adapter's base-model record is kept");
        try (AdapterFiles saved = AdapterFiles.read(dir)) {
            assertEquals(28, saved.weights().size(), "A and B of the 14 modules adapter a adapts");
        }
    }

    @Test
    void oneAdapterAloneIsScaledByItsWeightWhateverTheType() throws IOException {
        Path dir = tmp.resolve("one");
        try (AdapterFiles c = AdapterFiles.read(Fixtures.dir(MixFixture.C))) {
            // PEFT combines a single adapter by linear, whatever was asked: exactly w s B A
            AdapterMix.combine(List.of(new WeightedAdapter(c, -0.6)), CombinationType.CAT, MixOptions.defaults()).save(dir);
        }
        Path reweighted = Fixtures.adapterWith(MixFixture.C, tmp.resolve("c-weighted"), Map.of("lora_alpha", "-2.4"));
        double worst = largestDifference(logitsOf(dir), logitsOf(reweighted));
        assertTrue(worst < 2e-5, "largest logit difference " + worst);
    }

    @Test
    void linearIsTheProductOfTheWeightedFactorSumsNotTheSumOfDeltas() {
        String module = "base_model.model.model.layers.1.self_attn.v_proj";
        try (AdapterFiles a = AdapterFiles.read(Fixtures.dir(MixFixture.A));
             AdapterFiles b = AdapterFiles.read(Fixtures.dir(MixFixture.B))) {
            MixedAdapter mixed = AdapterMix.combine(List.of(new WeightedAdapter(a, 0.7), new WeightedAdapter(b, -0.4)),
                    CombinationType.LINEAR, MixOptions.defaults());
            Matrix combined = mixed.factors().get(module + AdapterFactors.B_SUFFIX)
                    .times(mixed.factors().get(module + AdapterFactors.A_SUFFIX));
            // c_a = sqrt(0.7 * 8/4), c_b = sqrt(0.4 * 16/4); the minus sign of b's weight goes on its A only
            double ca = Math.sqrt(0.7 * 2);
            double cb = Math.sqrt(0.4 * 4);
            Matrix aA = factor(a, module, "A");
            Matrix aB = factor(a, module, "B");
            Matrix bA = factor(b, module, "A");
            Matrix bB = factor(b, module, "B");
            Matrix expected = plus(aB.scaled(ca), bB.scaled(cb)).times(plus(aA.scaled(ca), bA.scaled(-cb)));
            assertTrue(combined.maxAbsDifference(expected) < 1e-12, "(c_a B_a + c_b B_b)(c_a A_a - c_b A_b)");
            Matrix sumOfDeltas = plus(aB.times(aA).scaled(ca * ca), bB.times(bA).scaled(-cb * cb));
            assertTrue(combined.maxAbsDifference(sumOfDeltas) > 1e-3, "the cross terms c_a c_b (B_b A_a - B_a A_b) remain");
        }
    }

    /** The base with each source's delta merged in at weight w_i: a copy of each adapter with alpha * w_i. */
    private float[][][] baseWithWeightedDeltasMerged() throws IOException {
        int[] alphas = {8, 16, 4};
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            LanguageModel merged = base;
            for (int i = 0; i < SOURCES.length; i++) {
                Path copy = Fixtures.adapterWith(SOURCES[i], tmp.resolve("weighted-" + i),
                        Map.of("lora_alpha", Double.toString(alphas[i] * WEIGHTS[i])));
                merged = Peft.load(merged, copy).mergeAndUnload();
            }
            return merged.logits(IDS, null);
        }
    }

    private static float[][][] logitsOf(Path adapter) throws IOException {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            if (adapter == null) {
                return base.logits(IDS, null);
            }
            PeftModel model = Peft.load(base, adapter);
            return model.logits(IDS, null);
        }
    }

    private interface Mixing {
        void run(List<WeightedAdapter> adapters);
    }

    private static void withSources(Mixing mixing) {
        List<AdapterFiles> files = new ArrayList<>();
        try {
            List<WeightedAdapter> adapters = new ArrayList<>();
            for (int i = 0; i < SOURCES.length; i++) {
                files.add(AdapterFiles.read(Fixtures.dir(SOURCES[i])));
                adapters.add(new WeightedAdapter(files.getLast(), WEIGHTS[i]));
            }
            mixing.run(adapters);
        } finally {
            files.forEach(AdapterFiles::close);
        }
    }

    private static Matrix factor(AdapterFiles files, String module, String which) {
        dev.finetune4j.core.tensor.Tensor t = files.weights().get(module + ".lora_" + which + ".weight");
        float[] v = t.toFloatArray();
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return new Matrix(t.dim(0), t.dim(1), d);
    }

    private static Matrix plus(Matrix x, Matrix y) {
        double[] out = x.values().clone();
        for (int i = 0; i < out.length; i++) {
            out[i] += y.values()[i];
        }
        return new Matrix(x.rows(), x.cols(), out);
    }

    private static double largestDifference(float[][][] x, float[][][] y) {
        double worst = 0;
        for (int b = 0; b < x.length; b++) {
            for (int t = 0; t < x[b].length; t++) {
                for (int v = 0; v < x[b][t].length; v++) {
                    worst = Math.max(worst, Math.abs(x[b][t][v] - y[b][t][v]));
                }
            }
        }
        return worst;
    }
}
