package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.PeftModel;

import java.util.ArrayList;
import java.util.List;

/**
 * Direct preference optimisation of an adapter over (prompt, chosen, rejected) pairs. The reference model is
 * the same model with its adapter disabled, so no second copy of the weights is held.
 *
 * <pre>{@code
 * DpoTrainer dpo = DpoTrainer.builder().model(peftModel).config(cfg).dpo(DpoConfig.sigmoid(0.1))
 *     .trainData(pairs).build();
 * TrainResult r = dpo.train();   // StepMetrics.extra(): rewards/margins, rewards/accuracy, rewards/chosen, rewards/rejected
 * }</pre>
 *
 */
public final class DpoTrainer extends Trainer {

    private DpoTrainer(TrainingLoop loop) {
        super(loop);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Summed response log-probabilities of each pair under the model as it is (the policy) and with its adapter
     * disabled (the reference), in eval mode and without gradients.
     */
    public static List<PairLogProbs> logProbs(PeftModel model, PreferenceDataset pairs, long padTokenId) {
        DpoObjective objective = new DpoObjective(model, pairs, DpoConfig.sigmoid(0.1), padTokenId);
        boolean training = model.base().isTraining();
        model.train(false);
        List<PairLogProbs> out = new ArrayList<>(pairs.size());
        try (var ng = Autograd.noGrad()) {
            for (int i = 0; i < pairs.size(); i++) {
                double[] reference = objective.referenceLogProbs(i);
                try (var scope = TensorScope.open()) {
                    float[] policy = objective.sequenceLogProbs(new int[]{i}).toFloatArray();
                    out.add(new PairLogProbs(policy[0], policy[1], reference[0], reference[1]));
                }
            }
        } finally {
            model.train(training);
        }
        return out;
    }

    /**
     * Log-probabilities of one pair's responses.
     *
     * @param policyChosen      policy, chosen response
     * @param policyRejected    policy, rejected response
     * @param referenceChosen   reference (adapter disabled), chosen response
     * @param referenceRejected reference, rejected response
     */
    public record PairLogProbs(double policyChosen, double policyRejected, double referenceChosen, double referenceRejected) {

        /** The preference loss of this pair under {@code cfg}. */
        public double loss(DpoConfig cfg) {
            return DpoLoss.loss(cfg, policyChosen, policyRejected, referenceChosen, referenceRejected);
        }

        /** beta x (chosen log-ratio - rejected log-ratio): above 0 when the policy prefers the chosen response more than the reference does. */
        public double rewardMargin(double beta) {
            return beta * ((policyChosen - referenceChosen) - (policyRejected - referenceRejected));
        }
    }

    /** Builder for {@link DpoTrainer}: training (and optional validation) data are {@link PreferenceDataset}s. */
    public static final class Builder extends TrainerBuilder<Builder, PreferenceDataset> {
        private DpoConfig dpo = DpoConfig.sigmoid(0.1);

        private Builder() {
            super("PreferenceDataset.of(pairs)");
        }

        /** The preference loss (default: sigmoid, beta 0.1, no label smoothing). */
        public Builder dpo(DpoConfig value) {
            if (value == null) {
                throw new IllegalArgumentException("dpo(...) must not be null: DpoConfig.sigmoid(0.1) is the usual start");
            }
            dpo = value;
            return this;
        }

        public DpoTrainer build() {
            return new DpoTrainer(loop(data -> new DpoObjective(model, data, dpo, padTokenId)));
        }
    }
}
