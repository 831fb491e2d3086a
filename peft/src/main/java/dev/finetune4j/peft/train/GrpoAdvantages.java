package dev.finetune4j.peft.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GRPO's advantages of a step's completions from their rewards, as TRL's {@code GRPOTrainer} forms them
 * ({@code multi_objective_aggregation "sum_then_normalize"}): the weighted sum {@code r} of the reward functions'
 * scores, minus the mean of its group (the G completions of one prompt), divided by the standard deviation of the
 * group ({@link GrpoConfig.ScaleRewards#GROUP}) or of all the step's rewards ({@code BATCH}) plus 1e-4, or not
 * divided ({@code NONE}). Standard deviations are unbiased (Bessel's correction, as TRL's {@code nanstd}). A group
 * whose rewards are all equal has advantages 0: it teaches nothing, and {@code frac_reward_zero_std} counts it.
 *
 * @param rewards    the weighted reward of each completion, groups one after the other
 * @param advantages the advantage of each completion
 * @param zeroStd    per completion, whether the standard deviation it was scaled by is 0 (TRL's
 *                   {@code isclose(std, 0)}: at most 1e-8)
 */
record GrpoAdvantages(double[] rewards, double[] advantages, boolean[] zeroStd) {
    /** TRL's constant added to the standard deviation before dividing. */
    static final double STD_EPSILON = 1e-4;

    /**
     * @param scores per reward function, the score of each completion (groups of {@code group} completions one after
     *               the other)
     * @param cfg    the reward weights and the scaling
     * @param group  completions per prompt
     */
    static GrpoAdvantages of(double[][] scores, GrpoConfig cfg, int group) {
        int n = scores[0].length;
        double[] rewards = new double[n];
        for (int f = 0; f < scores.length; f++) {
            for (int i = 0; i < n; i++) {
                rewards[i] += cfg.rewardWeight(f) * scores[f][i];
            }
        }
        double batchStd = std(rewards, 0, n);
        double[] advantages = new double[n];
        boolean[] zeroStd = new boolean[n];
        for (int start = 0; start < n; start += group) {
            double mean = mean(rewards, start, start + group);
            // NONE divides by nothing, but TRL still reports whether the group's rewards were all equal
            double std = cfg.scaleRewards() == GrpoConfig.ScaleRewards.BATCH ? batchStd : std(rewards, start, start + group);
            for (int i = start; i < start + group; i++) {
                advantages[i] = rewards[i] - mean;
                if (cfg.scaleRewards() != GrpoConfig.ScaleRewards.NONE) {
                    advantages[i] /= std + STD_EPSILON;
                }
                zeroStd[i] = Math.abs(std) <= 1e-8;
            }
        }
        return new GrpoAdvantages(rewards, advantages, zeroStd);
    }

    /**
     * TRL's reward metrics of the step: {@code reward} and {@code reward_std} (mean and standard deviation of the
     * weighted rewards), {@code rewards/<name>/mean} and {@code rewards/<name>/std} per function, and
     * {@code frac_reward_zero_std} (the share of completions whose group had equal rewards).
     *
     * @param names  each reward function's name, in the order of {@code scores}
     * @param scores as for {@link #of}
     */
    Map<String, Double> metrics(List<String> names, double[][] scores) {
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("reward", mean(rewards, 0, rewards.length));
        out.put("reward_std", std(rewards, 0, rewards.length));
        for (int f = 0; f < names.size(); f++) {
            out.put("rewards/" + names.get(f) + "/mean", mean(scores[f], 0, scores[f].length));
            out.put("rewards/" + names.get(f) + "/std", std(scores[f], 0, scores[f].length));
        }
        int zero = 0;
        for (boolean z : zeroStd) {
            zero += z ? 1 : 0;
        }
        out.put("frac_reward_zero_std", (double) zero / zeroStd.length);
        return out;
    }

    private static double mean(double[] x, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += x[i];
        }
        return sum / (to - from);
    }

    /** The unbiased standard deviation of {@code x[from, to)}; NaN for one value (TRL's {@code nanstd}). */
    private static double std(double[] x, int from, int to) {
        double mean = mean(x, from, to);
        double sq = 0;
        for (int i = from; i < to; i++) {
            sq += (x[i] - mean) * (x[i] - mean);
        }
        return Math.sqrt(sq / (to - from - 1));
    }
}
