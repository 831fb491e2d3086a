package dev.finetune4j.peft.train;

import java.util.List;

/**
 * Settings of GRPO (Shao et al. 2024, DeepSeekMath), under the names and defaults of TRL's {@code GRPOConfig}. TRL's
 * learning rate default (1e-6, for full fine-tuning) is not here: it is {@link TrainingConfig}'s, and LoRA usually
 * takes 1e-5 to 1e-4.
 *
 * @param numGenerations           completions sampled per prompt, the group ({@code num_generations}, default 8;
 *                                 at least 2: one completion has no group to be compared with)
 * @param maxCompletionLength      most tokens of a completion ({@code max_completion_length}, default 512)
 * @param temperature              sampling temperature ({@code temperature}, default 1.0; {@code > 0})
 * @param topP                     nucleus sampling ({@code top_p}, default 1.0: off)
 * @param topK                     keep the k most likely tokens ({@code top_k}, default 0: off)
 * @param beta                     weight of the KL term to the reference ({@code beta}, default 0.0: no reference
 *                                 pass); the reference is the base model without the adapter
 * @param epsilon                  lower clipping range of the importance ratio ({@code epsilon}, default 0.2)
 * @param epsilonHigh              upper clipping range ({@code epsilon_high}; TRL's None is {@code epsilon})
 * @param lossType                 how token losses are averaged ({@code loss_type}, default {@link GrpoLossType#DAPO})
 * @param scaleRewards             how advantages are scaled ({@code scale_rewards}, default {@link ScaleRewards#GROUP})
 * @param rewardWeights            one weight per reward function, in order ({@code reward_weights}; empty: 1.0 each)
 * @param numIterations            optimizer steps each generation serves, TRL's μ ({@code num_iterations}, default 1);
 *                                 above 1 the later steps reuse the generation's completions and advantages, and the
 *                                 importance ratio is taken against the log-probabilities of the policy that sampled them
 * @param maskTruncatedCompletions exclude completions that did not end with a stop token from the loss
 *                                 ({@code mask_truncated_completions}, default false)
 */
public record GrpoConfig(int numGenerations, int maxCompletionLength, double temperature, double topP, int topK,
                         double beta, double epsilon, double epsilonHigh, GrpoLossType lossType,
                         ScaleRewards scaleRewards, List<Double> rewardWeights, int numIterations,
                         boolean maskTruncatedCompletions) {

    /** TRL's {@code scale_rewards}: what the advantages {@code r - mean(group)} are divided by. */
    public enum ScaleRewards {
        /** {@code "group"} (TRL's default, {@code True}): the standard deviation of the completion's group, + 1e-4. */
        GROUP,
        /** {@code "batch"}: the standard deviation of all rewards of the step, + 1e-4 (the mean stays the group's). */
        BATCH,
        /** {@code "none"} ({@code False}): not scaled, as Dr. GRPO recommends. */
        NONE
    }

    /** Checks every value (see the components) and copies the reward weights. */
    public GrpoConfig {
        if (numGenerations < 2) {
            throw new IllegalArgumentException("GRPO numGenerations must be at least 2, got " + numGenerations
                    + ": the advantage of a completion is its reward against the others of its group; TRL's default is 8");
        }
        if (maxCompletionLength < 1) {
            throw new IllegalArgumentException("GRPO maxCompletionLength must be at least 1, got " + maxCompletionLength);
        }
        ConfigChecks.requireAtLeast("GRPO", "temperature", temperature, 0, true,
                "sampling needs a temperature > 0 (greedy completions of one prompt would all be equal); TRL's default is 1.0");
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("GRPO topP must be in (0, 1], got " + topP + "; 1.0 turns it off");
        }
        if (topK < 0) {
            throw new IllegalArgumentException("GRPO topK must be >= 0, got " + topK + "; 0 turns it off");
        }
        ConfigChecks.requireAtLeast("GRPO", "beta", beta, 0, false, "0 (TRL's default) drops the KL term, "
                + "DeepSeek-R1 used 0.001");
        ConfigChecks.requireAtLeast("GRPO", "epsilon", epsilon, 0, true, "0.2 is TRL's default");
        ConfigChecks.requireAtLeast("GRPO", "epsilonHigh", epsilonHigh, 0, true, "give epsilon's value for symmetric "
                + "clipping; DAPO recommends 0.28");
        if (epsilon >= 1) {
            throw new IllegalArgumentException("GRPO epsilon must be below 1, got " + epsilon
                    + ": the ratio's lower clip 1 - epsilon must stay positive; 0.2 is TRL's default");
        }
        if (lossType == null || scaleRewards == null) {
            throw new IllegalArgumentException("GRPO lossType and scaleRewards must not be null, got " + lossType + " and "
                    + scaleRewards + "; TRL's defaults are DAPO and GROUP");
        }
        if (rewardWeights == null) {
            throw new IllegalArgumentException("GRPO rewardWeights must not be null: List.of() weighs every reward 1.0");
        }
        rewardWeights = List.copyOf(rewardWeights);
        for (int i = 0; i < rewardWeights.size(); i++) {
            if (!Double.isFinite(rewardWeights.get(i))) {
                throw new IllegalArgumentException("GRPO rewardWeights[" + i + "] is " + rewardWeights.get(i)
                        + ": weights must be finite numbers");
            }
        }
        if (numIterations < 1) {
            throw new IllegalArgumentException("GRPO numIterations must be at least 1, got " + numIterations
                    + ": it is how many optimizer steps each generation serves; 1 (TRL's default) trains on each once");
        }
    }

    /**
     * TRL's defaults: 8 generations, 512 tokens, temperature 1, no top-p or top-k, beta 0, epsilon 0.2 on both sides,
     * the DAPO loss, group scaling, weights 1, one iteration, truncated completions kept.
     *
     * @return a builder holding them
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The weight of reward function {@code i}: its entry of {@link #rewardWeights}, or 1.0 when there are none.
     *
     * @param i the function's index
     * @return its weight
     */
    double rewardWeight(int i) {
        return rewardWeights.isEmpty() ? 1.0 : rewardWeights.get(i);
    }

    /** Builder for {@link GrpoConfig}, starting from TRL's defaults. */
    public static final class Builder {
        private int numGenerations = 8;
        private int maxCompletionLength = 512;
        private double temperature = 1.0;
        private double topP = 1.0;
        private int topK;
        private double beta;
        private double epsilon = 0.2;
        private Double epsilonHigh;
        private GrpoLossType lossType = GrpoLossType.DAPO;
        private ScaleRewards scaleRewards = ScaleRewards.GROUP;
        private List<Double> rewardWeights = List.of();
        private int numIterations = 1;
        private boolean maskTruncatedCompletions;

        private Builder() {
        }

        /**
         * Completions per prompt (default 8).
         *
         * @param v at least 2
         * @return this builder
         */
        public Builder numGenerations(int v) {
            numGenerations = v;
            return this;
        }

        /**
         * Most tokens of a completion (default 512).
         *
         * @param v at least 1
         * @return this builder
         */
        public Builder maxCompletionLength(int v) {
            maxCompletionLength = v;
            return this;
        }

        /**
         * Sampling temperature (default 1.0).
         *
         * @param v finite, {@code > 0}
         * @return this builder
         */
        public Builder temperature(double v) {
            temperature = v;
            return this;
        }

        /**
         * Nucleus sampling (default 1.0: off).
         *
         * @param v in (0, 1]
         * @return this builder
         */
        public Builder topP(double v) {
            topP = v;
            return this;
        }

        /**
         * Top-k sampling (default 0: off).
         *
         * @param v {@code >= 0}
         * @return this builder
         */
        public Builder topK(int v) {
            topK = v;
            return this;
        }

        /**
         * Weight of the KL term to the base model without the adapter (default 0: no reference pass).
         *
         * @param v finite, {@code >= 0}
         * @return this builder
         */
        public Builder beta(double v) {
            beta = v;
            return this;
        }

        /**
         * Lower clipping range of the importance ratio, and the upper one unless {@link #epsilonHigh} is set
         * (default 0.2).
         *
         * @param v in (0, 1)
         * @return this builder
         */
        public Builder epsilon(double v) {
            epsilon = v;
            return this;
        }

        /**
         * Upper clipping range (default: {@code epsilon}).
         *
         * @param v finite, {@code > 0}
         * @return this builder
         */
        public Builder epsilonHigh(double v) {
            epsilonHigh = v;
            return this;
        }

        /**
         * How token losses are averaged (default {@link GrpoLossType#DAPO}).
         *
         * @param v the loss type
         * @return this builder
         */
        public Builder lossType(GrpoLossType v) {
            lossType = v;
            return this;
        }

        /**
         * How advantages are scaled (default {@link ScaleRewards#GROUP}).
         *
         * @param v the scaling
         * @return this builder
         */
        public Builder scaleRewards(ScaleRewards v) {
            scaleRewards = v;
            return this;
        }

        /**
         * One weight per reward function, in the order they are given to the trainer (default: 1.0 each).
         *
         * @param v finite weights
         * @return this builder
         */
        public Builder rewardWeights(List<Double> v) {
            rewardWeights = v;
            return this;
        }

        /**
         * Optimizer steps each generation serves (default 1): above 1, the completions sampled for a step are trained
         * on in that many consecutive steps, the ratio clipped against the policy that sampled them.
         *
         * @param v at least 1
         * @return this builder
         */
        public Builder numIterations(int v) {
            numIterations = v;
            return this;
        }

        /**
         * Whether completions cut by {@code maxCompletionLength} (no stop token at the end) are left out of the loss
         * (default false).
         *
         * @param v true to leave them out
         * @return this builder
         */
        public Builder maskTruncatedCompletions(boolean v) {
            maskTruncatedCompletions = v;
            return this;
        }

        /**
         * Builds the configuration; the values are checked here.
         *
         * @return the configuration
         */
        public GrpoConfig build() {
            return new GrpoConfig(numGenerations, maxCompletionLength, temperature, topP, topK, beta, epsilon,
                    epsilonHigh == null ? epsilon : epsilonHigh, lossType, scaleRewards, rewardWeights, numIterations,
                    maskTruncatedCompletions);
        }
    }
}
