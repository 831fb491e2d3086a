package dev.finetune4j.peft.train;

import dev.finetune4j.peft.PeftModel;

/**
 * Preference optimisation without a reference model over (prompt, chosen, rejected) pairs: ORPO ({@link OrpoConfig},
 * TRL's {@code ORPOTrainer}: SFT on the chosen responses and preference alignment in one stage) or SimPO
 * ({@link SimpoConfig}, TRL's {@code CPOTrainer} with {@code loss_type="simpo"}). Unlike {@link DpoTrainer}, nothing
 * is computed before training starts and no reference log-probabilities are kept: each step is one forward and
 * backward pass over the pairs' 2N sequences, with dropout off (TRL's {@code disable_dropout}).
 *
 * <p>The loss of a step with one micro-batch equals TRL's for that batch; under gradient accumulation it is the
 * pair-weighted mean of the micro-batches' losses (see {@link OrpoConfig} and {@link SimpoConfig} for the formulas).
 *
 * <pre>{@code
 * ReferenceFreeTrainer orpo = ReferenceFreeTrainer.builder().model(peftModel).config(cfg)
 *     .loss(OrpoConfig.defaults()).trainData(pairs).build();
 * TrainResult r = orpo.train();
 * // StepMetrics.extra(): rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies, logps/chosen,
 * // logps/rejected, nll_loss, and for ORPO log_odds_ratio and log_odds_chosen (each a mean over the step's pairs)
 * }</pre>
 */
public final class ReferenceFreeTrainer extends Trainer {

    private ReferenceFreeTrainer(TrainingLoop loop) {
        super(loop);
    }

    /**
     * A builder without model, configuration, loss or data.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link ReferenceFreeTrainer}: training (and optional validation) data are {@link PreferenceDataset}s. */
    public static final class Builder extends TrainerBuilder<Builder, PreferenceDataset, PeftModel> {
        private ReferenceFreeConfig loss;

        private Builder() {
            super("PreferenceDataset.of(pairs)", TrainedModel::of);
        }

        /**
         * The loss (required): {@link OrpoConfig} or {@link SimpoConfig}.
         *
         * @param value the loss and its settings
         * @return this builder
         */
        public Builder loss(ReferenceFreeConfig value) {
            if (value == null) {
                throw new IllegalArgumentException("loss(...) must not be null: OrpoConfig.defaults() or SimpoConfig.defaults()");
            }
            loss = value;
            return this;
        }

        /**
         * Builds the trainer; missing or inconsistent settings are reported here.
         *
         * @return the trainer
         */
        public ReferenceFreeTrainer build() {
            if (loss == null) {
                throw new IllegalStateException("loss(...) is required: OrpoConfig.defaults() (ORPO) or "
                        + "SimpoConfig.defaults() (SimPO)");
            }
            return new ReferenceFreeTrainer(loop(data -> new ReferenceFreeObjective(model, data, loss, padTokenId)));
        }
    }
}
