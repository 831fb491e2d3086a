package dev.finetune4j.peft.train;

/**
 * ORPO (Hong et al. 2024, "ORPO: Monolithic Preference Optimization without Reference Model"), as TRL's
 * {@code ORPOTrainer} computes it for a micro-batch of N pairs:
 * {@code loss = NLL - β mean(log σ(log_odds))}, where NLL is the token-mean cross-entropy of the chosen sequences
 * over ALL their tokens (TRL's ORPO does not mask the prompt here: "computed over the full prompt and response"),
 * and {@code log_odds = (c - r) - (log(1 - e^c) - log(1 - e^r))} with c, r the per-token average log-probabilities
 * of the chosen and rejected responses.
 *
 * @param beta λ, the weight of the odds-ratio term (TRL's {@code beta}, default 0.1)
 */
public record OrpoConfig(double beta) implements ReferenceFreeConfig {

    /** Checks that beta is finite and {@code > 0}. */
    public OrpoConfig {
        ConfigChecks.requireAtLeast("ORPO", "beta", beta, 0, true,
                "0.1 is TRL's default (for the chosen responses' NLL alone, train with SftTrainer)");
    }

    /**
     * TRL's {@code ORPOConfig} default: beta 0.1.
     *
     * @return the configuration
     */
    public static OrpoConfig defaults() {
        return new OrpoConfig(0.1);
    }
}
