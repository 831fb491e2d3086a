package dev.finetune4j.peft.mix;

import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DARE's drops cannot equal torch's (another generator), so its types are checked by what must hold for any drops:
 * at density 1 each equals its deterministic type exactly; below, about density of the entries survive, rescaled.
 */
class DareTest {
    private static AdapterFiles a;
    private static AdapterFiles b;

    @BeforeAll
    static void read() {
        a = AdapterFiles.read(Fixtures.dir(MixFixture.A));
        b = AdapterFiles.read(Fixtures.dir(MixFixture.B));
    }

    @AfterAll
    static void close() {
        a.close();
        b.close();
    }

    @Test
    void atDensityOneEachDareTypeIsItsDeterministicType() {
        List<WeightedAdapter> ab = List.of(new WeightedAdapter(a, 0.8), new WeightedAdapter(b, -0.3));
        MixOptions one = MixOptions.builder().density(1).seed(3).build();
        assertSameFactors(mix(ab, CombinationType.LINEAR, MixOptions.defaults()), mix(ab, CombinationType.DARE_LINEAR, one));
        assertSameFactors(mix(ab, CombinationType.TIES, one), mix(ab, CombinationType.DARE_TIES, one));
        assertSameFactors(mix(ab, CombinationType.SVD, MixOptions.defaults()), mix(ab, CombinationType.DARE_LINEAR_SVD, one));
        assertSameFactors(mix(ab, CombinationType.TIES_SVD, one), mix(ab, CombinationType.DARE_TIES_SVD, one));
    }

    @Test
    void belowDensityOneAboutThatShareSurvivesRescaled() {
        // b's weight 0 contributes nothing, so every A entry is 0 or sqrt(w s) * A_a / density
        double weight = 0.5;
        double density = 0.4;
        double scaling = 8.0 / 4; // adapter a: alpha 8, r 4
        Map<String, Matrix> mixed = mix(List.of(new WeightedAdapter(a, weight), new WeightedAdapter(b, 0)),
                CombinationType.DARE_LINEAR, MixOptions.builder().density(density).seed(42).build());
        long entries = 0;
        long survivors = 0;
        for (Map.Entry<String, dev.finetune4j.core.tensor.Tensor> e : a.weights().entrySet()) {
            if (!e.getKey().endsWith(AdapterFactors.A_SUFFIX)) {
                continue;
            }
            float[] original = e.getValue().toFloatArray();
            double[] combined = mixed.get(e.getKey()).values();
            for (int i = 0; i < original.length; i++) {
                entries++;
                if (combined[i] != 0) {
                    survivors++;
                    assertEquals(Math.sqrt(weight * scaling) * original[i] / density, combined[i], 1e-12);
                }
            }
        }
        double sd = Math.sqrt(density * (1 - density) / entries);
        assertEquals(density, survivors / (double) entries, 5 * sd, survivors + " of " + entries + " survived");
    }

    @Test
    void theSameSeedGivesTheSameAdapterAndAnotherSeedAnother() {
        List<WeightedAdapter> ab = List.of(new WeightedAdapter(a, 0.8), new WeightedAdapter(b, 0.3));
        MixOptions seven = MixOptions.builder().density(0.5).seed(7).build();
        Map<String, Matrix> first = mix(ab, CombinationType.DARE_TIES, seven);
        assertSameFactors(first, mix(ab, CombinationType.DARE_TIES, seven));
        Map<String, Matrix> other = mix(ab, CombinationType.DARE_TIES, MixOptions.builder().density(0.5).seed(8).build());
        String key = first.keySet().iterator().next();
        assertFalse(java.util.Arrays.equals(first.get(key).values(), other.get(key).values()));
    }

    private static Map<String, Matrix> mix(List<WeightedAdapter> adapters, CombinationType type, MixOptions options) {
        return AdapterMix.combine(adapters, type, options).factors();
    }

    private static void assertSameFactors(Map<String, Matrix> expected, Map<String, Matrix> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((k, m) -> assertArrayEquals(m.values(), actual.get(k).values(), 0, k));
        assertTrue(!expected.isEmpty());
    }
}
