package dev.finetune4j.peft.mix;

import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.Fixtures;
import dev.finetune4j.peft.TargetModules;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every combination type against torch (tools/reference/adapter_mix_torch.py, the same arguments as its case list):
 * factors within 3e-7 for the types that work on factors, products B A within 3e-7 for the SVD types (factors fixed
 * only up to signs); 3e-7 is thrice the float32 rounding of the stored values. The golden values cover layer 0; the
 * result must hold exactly the union of the modules.
 */
class MixFixtureTest {
    private static AdapterFiles a;
    private static AdapterFiles b;
    private static AdapterFiles c;
    private static Map<String, Matrix> golden;

    @BeforeAll
    static void read() {
        a = AdapterFiles.read(Fixtures.dir(MixFixture.A));
        b = AdapterFiles.read(Fixtures.dir(MixFixture.B));
        c = AdapterFiles.read(Fixtures.dir(MixFixture.C));
        golden = MixFixture.golden();
    }

    @AfterAll
    static void close() {
        a.close();
        b.close();
        c.close();
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("linear", "ab", new double[]{0.7, -0.4}, null, "total", null, 4),
                Arguments.of("ties", "ab", new double[]{0.7, 0.5}, 0.5, "total", null, 4),
                Arguments.of("magnitude_prune", "ab", new double[]{0.7, 0.5}, 0.3, "total", null, 4),
                Arguments.of("dare_linear", "ab", new double[]{0.7, -0.4}, 1.0, "total", null, 4),
                Arguments.of("dare_ties", "ab", new double[]{0.7, 0.5}, 1.0, "frequency", null, 4),
                Arguments.of("cat", "abc", new double[]{0.7, -0.4, 1.5}, null, "total", null, 10),
                Arguments.of("svd", "abc", new double[]{0.7, -0.4, 1.5}, null, "total", 10, 10),
                Arguments.of("ties_svd", "abc", new double[]{0.7, 0.5, 1.5}, 0.5, "frequency", 3, 3),
                Arguments.of("magnitude_prune_svd", "ab", new double[]{0.7, 0.5}, 0.4, "total", null, 4),
                Arguments.of("dare_linear_svd", "ab", new double[]{0.7, -0.4}, 1.0, "total", 6, 6),
                Arguments.of("dare_ties_svd", "ac", new double[]{0.7, 0.5}, 1.0, "total", null, 4));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTorch(String typeName, String which, double[] weights, Double density, String sign, Integer svdRank,
                      int expectedRank) {
        CombinationType type = CombinationType.of(typeName);
        MixOptions.Builder options = MixOptions.builder().majoritySign(MajoritySign.of(sign)).seed(5);
        if (density != null) {
            options.density(density);
        }
        if (svdRank != null) {
            options.svdRank(svdRank);
        }
        MixedAdapter mixed = AdapterMix.combine(adapters(which, weights), type, options.build());

        assertEquals(expectedRank, mixed.config().r());
        assertEquals(expectedRank, mixed.config().loraAlpha(), "alpha = r: scaling 1");
        assertFalse(mixed.config().useRslora());
        Set<String> modules = new TreeSet<>();
        for (char x : which.toCharArray()) {
            files(x).weights().keySet().forEach(modules::add);
        }
        assertEquals(modules, mixed.factors().keySet(), "the union of the adapters' modules");

        int compared = 0;
        for (Map.Entry<String, Matrix> e : golden.entrySet()) {
            String key = e.getKey();
            if (!key.startsWith(typeName + "/") || !key.endsWith(AdapterFactors.A_SUFFIX)) {
                continue;
            }
            String aName = key.substring(typeName.length() + 1);
            String bName = aName.replace(AdapterFactors.A_SUFFIX, AdapterFactors.B_SUFFIX);
            Matrix expectedA = e.getValue();
            Matrix expectedB = golden.get(typeName + "/" + bName);
            Matrix actualA = mixed.factors().get(aName);
            Matrix actualB = mixed.factors().get(bName);
            if (type.usesSvd()) {
                double diff = actualB.times(actualA).maxAbsDifference(expectedB.times(expectedA));
                assertTrue(diff < 3e-7, typeName + " " + aName + ": B A differs from torch's by " + diff);
            } else {
                double diffA = actualA.maxAbsDifference(expectedA);
                double diffB = actualB.maxAbsDifference(expectedB);
                assertTrue(diffA < 3e-7 && diffB < 3e-7, typeName + " " + aName + ": A differs by " + diffA + ", B by " + diffB);
            }
            compared++;
        }
        assertEquals(7, compared, "layer 0's seven projections have golden values");
    }

    @Test
    void targetModulesAreTheUnionOfTheAdapters() {
        MixedAdapter mixed = AdapterMix.combine(adapters("bc", new double[]{1, 1}), CombinationType.CAT, MixOptions.defaults());
        assertEquals(List.of("q_proj", "v_proj", "down_proj", "o_proj"),
                ((TargetModules.Names) mixed.config().targetModules()).names());
    }

    private static List<WeightedAdapter> adapters(String which, double[] weights) {
        List<WeightedAdapter> out = new ArrayList<>();
        for (int i = 0; i < which.length(); i++) {
            out.add(new WeightedAdapter(files(which.charAt(i)), weights[i]));
        }
        return out;
    }

    private static AdapterFiles files(char x) {
        return switch (x) {
            case 'a' -> a;
            case 'b' -> b;
            case 'c' -> c;
            default -> throw new IllegalArgumentException("no adapter " + x);
        };
    }
}
