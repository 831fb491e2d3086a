package dev.finetune4j.peft.train;

/**
 * The loss of a {@link ReferenceFreeTrainer}: a preference loss that needs no reference model, over the policy's
 * per-token AVERAGE log-probabilities of the chosen and rejected responses. {@link OrpoConfig} (TRL's
 * {@code ORPOTrainer}) also teaches the chosen response, so it needs no separate SFT stage; {@link SimpoConfig} (TRL's
 * {@code CPOTrainer} with {@code loss_type="simpo"}) adds a target margin.
 */
public sealed interface ReferenceFreeConfig permits OrpoConfig, SimpoConfig {

    /**
     * The weight of the preference term (ORPO's λ) or the scale of the reward (SimPO's β); rewards are logged as β
     * times the average log-probability, as TRL does.
     *
     * @return beta, finite and {@code > 0}
     */
    double beta();
}
