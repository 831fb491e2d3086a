package dev.finetune4j.peft.train;

/**
 * Settings of reward-model training ({@link RewardTrainer}) with TRL's {@code RewardConfig} names.
 *
 * @param centerRewardsCoefficient weight of the term {@code mean((r_chosen + r_rejected)^2)} that keeps the
 *                                 rewards centred on zero (Eisenstein et al. 2023; TRL's
 *                                 {@code center_rewards_coefficient}); 0 leaves it out, as TRL's default
 */
public record RewardConfig(double centerRewardsCoefficient) {

    /** Checks the coefficient. */
    public RewardConfig {
        if (!(centerRewardsCoefficient >= 0) || Double.isInfinite(centerRewardsCoefficient)) {
            throw new IllegalArgumentException("center_rewards_coefficient must be a finite number >= 0 (0 leaves the "
                    + "centring term out; 0.01 is the usual value), found " + centerRewardsCoefficient);
        }
    }

    /**
     * The Bradley-Terry loss alone, TRL's default.
     *
     * @return the settings
     */
    public static RewardConfig defaults() {
        return new RewardConfig(0);
    }
}
