package dev.finetune4j.peft.train;

/**
 * SimPO (Meng et al. 2024, "SimPO: Simple Preference Optimization with a Reference-Free Reward"), as TRL's
 * {@code CPOTrainer} computes it with {@code loss_type="simpo"} for a micro-batch of N pairs: with c, r the per-token
 * average log-probabilities of the chosen and rejected responses and {@code x = β ((c - r) - γ/β)},
 * {@code loss = mean(-(1 - ls) log σ(x) - ls log σ(-x)) + cpoAlpha × NLL}, where NLL is the token-mean cross-entropy
 * of the chosen RESPONSES (prompt tokens masked, as CPO's labels are).
 *
 * <p>NOTE: TRL's {@code CPOConfig} defaults {@code cpo_alpha} to 1.0 (CPO-SimPO, with the behaviour-cloning term);
 * the SimPO paper and TRL's SimPO documentation use {@code cpo_alpha = 0}, usually with a larger beta (2 to 2.5)
 * and gamma (about half of beta): {@code new SimpoConfig(2.5, 1.25, 0, 0)}.
 *
 * @param beta           the reward scale β (TRL default 0.1)
 * @param simpoGamma     the target reward margin γ (TRL default 0.5)
 * @param cpoAlpha       the weight of the chosen responses' NLL (TRL default 1.0; 0 for SimPO as published)
 * @param labelSmoothing the assumed probability that a preference label is flipped, in [0, 0.5) (TRL default 0)
 */
public record SimpoConfig(double beta, double simpoGamma, double cpoAlpha, double labelSmoothing)
        implements ReferenceFreeConfig {

    /** Checks that beta is {@code > 0}, gamma and cpoAlpha {@code >= 0}, all finite, and label smoothing in [0, 0.5). */
    public SimpoConfig {
        ConfigChecks.requireAtLeast("SimPO", "beta", beta, 0, true, "0.1 is TRL's default, 2 to 2.5 the paper's");
        ConfigChecks.requireAtLeast("SimPO", "simpoGamma", simpoGamma, 0, false,
                "the target margin; 0.5 is TRL's default");
        ConfigChecks.requireAtLeast("SimPO", "cpoAlpha", cpoAlpha, 0, false,
                "0 for SimPO as published, 1.0 is TRL's default (CPO-SimPO)");
        if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) {
            throw new IllegalArgumentException("SimPO labelSmoothing must be in [0, 0.5), got " + labelSmoothing
                    + "; 0 (no smoothing) is TRL's default");
        }
    }

    /**
     * TRL's {@code CPOConfig(loss_type="simpo")} defaults: beta 0.1, simpoGamma 0.5, cpoAlpha 1.0, labelSmoothing 0.
     *
     * @return the configuration
     */
    public static SimpoConfig defaults() {
        return new SimpoConfig(0.1, 0.5, 1.0, 0);
    }
}
