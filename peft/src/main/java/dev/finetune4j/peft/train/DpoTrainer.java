package dev.finetune4j.peft.train;

import dev.finetune4j.peft.PeftModel;

import java.util.ArrayList;
import java.util.List;

/**
 * Direct preference optimisation of an adapter over (prompt, chosen, rejected) pairs. The reference model is the
 * policy as it was when {@link Builder#build()} ran (TRL's default; after SFT it is the SFT model, not the base):
 * the reference log-probabilities of every pair are computed then and kept, so no second copy of the weights is
 * held. To resume, build the trainer on the model the interrupted run started from (for example the SFT adapter
 * from {@code Peft.loadTrainable}), then call {@link #resume}: the checkpoint's weights are loaded after the
 * reference is taken.
 *
 * <pre>{@code
 * DpoTrainer dpo = DpoTrainer.builder().model(peftModel).config(cfg).dpo(DpoConfig.sigmoid(0.1))
 *     .trainData(pairs).build();
 * TrainResult r = dpo.train();   // StepMetrics.extra(): rewards/margins, rewards/accuracies, rewards/chosen, rewards/rejected
 * }</pre>
 *
 */
public final class DpoTrainer extends Trainer {

    private DpoTrainer(TrainingLoop loop) {
        super(loop);
    }

    /**
     * A builder without model, configuration or data; the sigmoid loss with beta 0.1.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Summed response log-probabilities of each pair under the model as it is, in eval mode and without
     * gradients. Taken before and after a DPO round, they give {@link PairLogProbs#of} the policy and the
     * reference.
     *
     * @param model the model to score
     * @param pairs the preference pairs
     * @param padTokenId the id used to pad a batch (masked out)
     * @return one entry per pair, in order
     */
    public static List<ResponseLogProbs> responseLogProbs(PeftModel model, PreferenceDataset pairs, long padTokenId) {
        return DpoObjective.responseLogProbs(model, pairs, padTokenId);
    }

    /**
     * One pair's summed log-probabilities of its two responses under one model.
     *
     * @param chosen   the chosen response
     * @param rejected the rejected response
     */
    public record ResponseLogProbs(double chosen, double rejected) {

        /**
         * True when the model gives the chosen response the higher log-probability.
         *
         * @return whether {@code chosen > rejected}
         */
        public boolean prefersChosen() {
            return chosen > rejected;
        }
    }

    /**
     * Log-probabilities of one pair's responses under the policy and the reference.
     *
     * @param policyChosen      policy, chosen response
     * @param policyRejected    policy, rejected response
     * @param referenceChosen   reference, chosen response
     * @param referenceRejected reference, rejected response
     */
    public record PairLogProbs(double policyChosen, double policyRejected, double referenceChosen, double referenceRejected) {

        /**
         * Pairs the i-th policy entry with the i-th reference entry (lists of the same pairs, in the same order).
         *
         * @param policy the policy's log-probabilities, one per pair
         * @param reference the reference's log-probabilities of the same pairs
         * @return one entry per pair
         */
        public static List<PairLogProbs> of(List<ResponseLogProbs> policy, List<ResponseLogProbs> reference) {
            if (policy.size() != reference.size()) {
                throw new IllegalArgumentException("policy has " + policy.size() + " pairs, reference " + reference.size()
                        + ": compute both over the same PreferenceDataset");
            }
            List<PairLogProbs> out = new ArrayList<>(policy.size());
            for (int i = 0; i < policy.size(); i++) {
                ResponseLogProbs p = policy.get(i);
                ResponseLogProbs r = reference.get(i);
                out.add(new PairLogProbs(p.chosen(), p.rejected(), r.chosen(), r.rejected()));
            }
            return out;
        }

        /**
         * The preference loss of this pair under {@code cfg}.
         *
         * @param cfg the loss settings
         * @return the loss
         */
        public double loss(DpoConfig cfg) {
            return DpoLoss.loss(cfg, policyChosen, policyRejected, referenceChosen, referenceRejected);
        }

        /**
         * beta x (chosen log-ratio - rejected log-ratio): above 0 when the policy prefers the chosen response more than
         * the reference does.
         *
         * @param beta the DPO beta
         * @return the reward margin
         */
        public double rewardMargin(double beta) {
            return beta * ((policyChosen - referenceChosen) - (policyRejected - referenceRejected));
        }
    }

    /** Builder for {@link DpoTrainer}: training (and optional validation) data are {@link PreferenceDataset}s. */
    public static final class Builder extends TrainerBuilder<Builder, PreferenceDataset, PeftModel> {
        private DpoConfig dpo = DpoConfig.sigmoid(0.1);

        private Builder() {
            super("PreferenceDataset.of(pairs)", TrainedModel::of);
        }

        /**
         * The preference loss (default: sigmoid, beta 0.1, no label smoothing).
         *
         * @param value the loss settings
         * @return this builder
         */
        public Builder dpo(DpoConfig value) {
            if (value == null) {
                throw new IllegalArgumentException("dpo(...) must not be null: DpoConfig.sigmoid(0.1) is the usual start");
            }
            dpo = value;
            return this;
        }

        /**
         * Builds the trainer; missing or inconsistent settings are reported here.
         *
         * @return the trainer
         */
        public DpoTrainer build() {
            return new DpoTrainer(loop(data -> {
                // the reference log-probabilities, computed here, under the precision of the policy's passes
                try (var forwardPrecision = config.precision().use()) {
                    return new DpoObjective(model, data, dpo, padTokenId);
                }
            }));
        }
    }
}
