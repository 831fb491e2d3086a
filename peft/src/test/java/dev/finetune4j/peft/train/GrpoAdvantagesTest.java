package dev.finetune4j.peft.train;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** GRPO's advantages, reward metrics and token weights on tiny groups, computed by hand. */
class GrpoAdvantagesTest {

    /** The advantages of a group of {1, 2, 4}, formed from two weighted functions. */
    @Test
    void weightedRewardsGiveTheHandComputedAdvantages() {
        GrpoConfig cfg = GrpoConfig.builder().numGenerations(3).rewardWeights(List.of(2.0, -1.0)).build();
        // 2 x {1, 1.5, 2} - {1, 1, 0} = {1, 2, 4}: mean 7/3, unbiased std sqrt(7/3)
        GrpoAdvantages a = GrpoAdvantages.of(new double[][]{{1, 1.5, 2}, {1, 1, 0}}, cfg, 3);
        assertArrayEquals(new double[]{1, 2, 4}, a.rewards(), 1e-12);
        double std = Math.sqrt(7.0 / 3);
        assertArrayEquals(new double[]{(1 - 7.0 / 3) / (std + 1e-4), (2 - 7.0 / 3) / (std + 1e-4),
                (4 - 7.0 / 3) / (std + 1e-4)}, a.advantages(), 1e-12);
    }

    /**
     * Two groups of two: {3, 3} (equal rewards: zero advantages, counted by frac_reward_zero_std) and {0, 2} (mean 1,
     * unbiased std sqrt(2)). The three scalings differ only in the divisor.
     */
    @Test
    void equalRewardsGiveZeroAdvantageUnderEveryScaling() {
        double[][] scores = {{3, 3, 0, 2}};
        double s2 = Math.sqrt(2);
        // batch: rewards {3, 3, 0, 2}, mean 2, unbiased variance (1 + 1 + 4 + 0) / 3 = 2
        Map<GrpoConfig.ScaleRewards, double[]> expected = Map.of(
                GrpoConfig.ScaleRewards.GROUP, new double[]{0, 0, -1 / (s2 + 1e-4), 1 / (s2 + 1e-4)},
                GrpoConfig.ScaleRewards.BATCH, new double[]{0, 0, -1 / (s2 + 1e-4), 1 / (s2 + 1e-4)},
                GrpoConfig.ScaleRewards.NONE, new double[]{0, 0, -1, 1});
        expected.forEach((scaling, advantages) -> {
            GrpoConfig cfg = GrpoConfig.builder().numGenerations(2).scaleRewards(scaling).build();
            GrpoAdvantages a = GrpoAdvantages.of(scores, cfg, 2);
            assertArrayEquals(advantages, a.advantages(), 1e-12, scaling.name());
            Map<String, Double> m = a.metrics(List.of("f"), scores);
            // batch scaling divides by one non-zero std: no completion's divisor is 0
            assertEquals(scaling == GrpoConfig.ScaleRewards.BATCH ? 0.0 : 0.5, m.get("frac_reward_zero_std"), scaling.name());
            assertEquals(2.0, m.get("reward"), 1e-12);
            assertEquals(s2, m.get("reward_std"), 1e-12);
            assertEquals(2.0, m.get("rewards/f/mean"), 1e-12);
            assertEquals(s2, m.get("rewards/f/std"), 1e-12);
        });
    }

    /**
     * Completions of 2, 4 | 1, 5 tokens in two micro-batches (the last left out of the loss): the weight of each of
     * their tokens under each loss type, so that the step's sum over its 4 completions is TRL's loss.
     */
    @Test
    void tokenWeightsNormaliseAsEachLossType() {
        int[] lengths = {2, 4, 1, 5};
        boolean[] masked = {false, false, false, true};
        int[] sizes = {2, 2};
        Map<GrpoLossType, double[]> expected = Map.of(
                GrpoLossType.GRPO, new double[]{1 / 2.0, 1 / 4.0, 1, 1 / 1.0},   // its own tokens (masked: max(1, 0))
                GrpoLossType.BNPO, new double[]{2 / 6.0, 2 / 6.0, 2 / 1.0, 2 / 1.0}, // its micro-batch's tokens
                GrpoLossType.DR_GRPO, new double[]{1 / 7.0, 1 / 7.0, 1 / 7.0, 1 / 7.0}, // max_completion_length 7
                GrpoLossType.DAPO, new double[]{4 / 7.0, 4 / 7.0, 4 / 7.0, 4 / 7.0}); // the step's 7 loss tokens
        expected.forEach((type, weights) -> {
            GrpoConfig cfg = GrpoConfig.builder().lossType(type).maxCompletionLength(7).build();
            assertArrayEquals(weights, GrpoObjective.tokenWeights(cfg, sizes, lengths, masked), 1e-12, type.name());
        });
    }
}
