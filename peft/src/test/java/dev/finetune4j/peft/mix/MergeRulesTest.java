package dev.finetune4j.peft.mix;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PEFT's merge_utils rules on hand-computed cases, and DARE's drops by their statistics. */
class MergeRulesTest {

    @Test
    void magnitudePruningKeepsTheFloorOfDensityTimesNLargest() {
        double[] x = {3, -5, 1, 4};
        assertArrayEquals(new double[]{0, -5, 0, 4}, MergeRules.keepLargest(x, 0.5), 0);
        assertArrayEquals(new double[]{0, -5, 0, 4}, MergeRules.keepLargest(x, 0.74), 0, "int(2.96) = 2");
        assertArrayEquals(new double[]{0, 0, 0, 0}, MergeRules.keepLargest(x, 0.2), 0, "int(0.8) = 0 keeps nothing");
        assertSame(x, MergeRules.keepLargest(x, 1), "density 1 keeps everything");
    }

    @Test
    void magnitudePruningKeepsTheEarlierOfEqualMagnitudes() {
        assertArrayEquals(new double[]{2, -2, 0, 0}, MergeRules.keepLargest(new double[]{2, -2, 2, 1}, 0.5), 0);
    }

    @Test
    void tiesElectsBySumOrBySignCountAndAveragesTheAgreeingWeightedEntries() {
        List<double[]> x = List.of(new double[]{1, -2, 0, 2}, new double[]{-3, 1, 0, 4});
        double[] w = {1, 2};
        // total: sums -2, -1, 0, 6 elect -, -, +, +; entry 3 averages 1*2 and 2*4 over two
        assertArrayEquals(new double[]{-6, -2, 0, 5}, MergeRules.electAndAverage(x, w, MajoritySign.TOTAL), 0);
        // frequency: sign counts 0, 0, 0, 2 all elect +
        assertArrayEquals(new double[]{1, 2, 0, 5}, MergeRules.electAndAverage(x, w, MajoritySign.FREQUENCY), 0);
    }

    @Test
    void weightedSumIsTaskArithmetic() {
        assertArrayEquals(new double[]{-5, 4}, MergeRules.weightedSum(List.of(new double[]{1, 2}, new double[]{3, -1}),
                new double[]{1, -2}), 0);
    }

    @Test
    void dareKeepsAboutDensityOfTheEntriesRescaledSoTheMeanIsKept() {
        int n = 200_000;
        double density = 0.3;
        double[] x = new double[n];
        java.util.Arrays.fill(x, 0.6);
        double[] kept = MergeRules.dropAtRandom(x, density, new SplittableRandom(1));
        long survivors = java.util.Arrays.stream(kept).filter(v -> v != 0).count();
        double sd = Math.sqrt(density * (1 - density) / n);
        assertEquals(density, survivors / (double) n, 5 * sd, "fraction kept");
        assertTrue(java.util.Arrays.stream(kept).allMatch(v -> v == 0 || v == 0.6 / density), "survivors are x / density");
        assertEquals(0.6, java.util.Arrays.stream(kept).average().orElseThrow(), 0.6 / density * 5 * sd, "mean kept");
    }

    @Test
    void dareIsReproducibleFromItsSeedAndKeepsAllAtDensityOne() {
        double[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        assertArrayEquals(MergeRules.dropAtRandom(x, 0.5, new SplittableRandom(7)),
                MergeRules.dropAtRandom(x, 0.5, new SplittableRandom(7)), 0);
        assertFalse(java.util.Arrays.equals(MergeRules.dropAtRandom(x, 0.5, new SplittableRandom(7)),
                MergeRules.dropAtRandom(x, 0.5, new SplittableRandom(8))), "another seed drops other entries");
        assertSame(x, MergeRules.dropAtRandom(x, 1, new SplittableRandom(7)));
    }

    @Test
    void clampQuantileInterpolatesLikeTorch() {
        // torch.quantile(tensor([4., 1., 3., 2., 5.]), 0.9) = 4.6: position 3.6 between the sorted 4 and 5
        assertEquals(4.6, FactorRules.quantile(new double[]{4, 1, 3}, new double[]{2, 5}, 0.9), 1e-12);
        assertEquals(5, FactorRules.quantile(new double[]{4, 1, 3}, new double[]{2, 5}, 1.0), 0);
    }
}
