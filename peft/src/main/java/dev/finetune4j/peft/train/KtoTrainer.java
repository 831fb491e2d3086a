package dev.finetune4j.peft.train;

import dev.finetune4j.peft.PeftModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * KTO (Ethayarajh et al. 2024) of an adapter over unpaired rows: a prompt, one completion and whether it is desirable
 * (a thumbs up) or not, as TRL's {@code KTOTrainer} with {@code loss_type "kto"} trains them (the loss:
 * {@link KtoLoss}). The reference model is the policy as it was when {@link Builder#build()} ran, as for
 * {@link DpoTrainer}: the reference log-probabilities of every row are computed then and kept. To resume, build the
 * trainer on the model the interrupted run started from, then call {@link #resume}.
 *
 * <p>Each row's KL term uses its prompt with another row's completion; the pairs are fixed when the trainer is
 * built, from chunks of {@code microBatchSize} rows in data set order, as TRL forms them
 * ({@link KtoObjective#klPartners}). TRL then reads the rows in that order; with {@code TrainingConfig.shuffle(true)}
 * (the default) the micro-batches are shuffled rows, each keeping its KL pair, and with {@code shuffle(false)} they
 * are TRL's micro-batches exactly. The micro-batch size must be at least 2 (as in TRL); the KL estimate is the mean
 * over a micro-batch, so gradient accumulation does not change it.
 *
 * <pre>{@code
 * KtoTrainer kto = KtoTrainer.builder().model(peftModel).config(cfg).kto(KtoConfig.defaults())
 *     .trainData(KtoDataset.of(rows)).build();
 * TrainResult r = kto.train();   // StepMetrics.extra(): rewards/chosen, rewards/rejected, rewards/margins,
 *                                //   logps/chosen, logps/rejected, kl
 * }</pre>
 */
public final class KtoTrainer extends Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(KtoTrainer.class);

    private KtoTrainer(TrainingLoop loop) {
        super(loop);
    }

    /**
     * A builder without model, configuration or data; TRL's defaults (beta 0.1, both weights 1).
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link KtoTrainer}: training (and optional validation) data are {@link KtoDataset}s. */
    public static final class Builder extends TrainerBuilder<Builder, KtoDataset, PeftModel> {
        private KtoConfig kto = KtoConfig.defaults();

        private Builder() {
            super("KtoDataset.of(rows)", TrainedModel::of);
        }

        /**
         * The KTO loss settings (default: {@link KtoConfig#defaults()}).
         *
         * @param value beta and the weights
         * @return this builder
         */
        public Builder kto(KtoConfig value) {
            if (value == null) {
                throw new IllegalArgumentException("kto(...) must not be null: KtoConfig.defaults() is the usual start");
            }
            kto = value;
            return this;
        }

        /**
         * Builds the trainer; missing or inconsistent settings (a micro-batch of one row) are reported here, and
         * weights outside the KTO paper's range for the training data's counts ({@link KtoConfig#weightAdvice}) are
         * logged as a warning.
         *
         * @return the trainer
         */
        public KtoTrainer build() {
            TrainingLoop loop = loop(data -> {
                // the reference log-probabilities, computed here, under the precision of the policy's passes
                try (var forwardPrecision = config.precision().use()) {
                    return new KtoObjective(model, data, kto, padTokenId, config.microBatchSize());
                }
            });
            // as TRL does, a warning only: the weights are the user's choice
            kto.weightAdvice(trainData.desirableCount(), trainData.size() - trainData.desirableCount())
                    .ifPresent(advice -> LOG.warn("KTO: {}", advice));
            return new KtoTrainer(loop);
        }
    }
}
