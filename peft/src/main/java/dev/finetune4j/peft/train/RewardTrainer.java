package dev.finetune4j.peft.train;

import dev.finetune4j.peft.PeftClassifier;

/**
 * Reward-model training over preference pairs, as TRL's {@code RewardTrainer}: a sequence classifier with one label
 * (BERT, or a decoder's {@code *ForSequenceClassification}, wrapped by {@code Peft.wrap}) learns to score each pair's
 * chosen sequence (prompt, then response) above its rejected one, with the Bradley-Terry loss
 * {@code -log σ(r_chosen - r_rejected)} (and {@link RewardConfig}'s centring term), without dropout. The head
 * ({@code score}) trains with the adapter and is saved as PEFT's {@code modules_to_save}. Steps and evaluations report
 * {@code rewards/accuracies} (the share of pairs ranked right), {@code rewards/margins}, {@code rewards/chosen} and
 * {@code rewards/rejected} in their {@code extra()} metrics.
 *
 * <pre>{@code
 * ClassifierConfig oneScore = ClassifierConfig.fromJson(AutoModel.readConfig(dir)).withLabels(List.of("reward"))
 *     .withPadTokenId(padId);
 * try (var base = AutoModel.loadSequenceClassifier(dir, Device.cpu(), oneScore)) {
 *     PeftClassifier rm = Peft.wrap(base, LoraConfig.builder().r(16).loraAlpha(32).build());
 *     TrainResult r = RewardTrainer.builder().model(rm).config(cfg).trainData(pairs).evalData(heldOut).build().train();
 *     rm.save(Path.of("runs/reward/adapter"));
 * }
 * }</pre>
 *
 * <p>Micro-batches are padded with the classifier's {@code pad_token_id} when its config has one (a decoder finds
 * each row's last token by it); {@link Builder#padTokenId} then must be that id or left unset.
 */
public final class RewardTrainer extends Trainer {

    private RewardTrainer(TrainingLoop loop) {
        super(loop);
    }

    /**
     * A builder without model, configuration or data; TRL's default loss (no centring term).
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link RewardTrainer}: data are {@link PreferenceDataset}s, the model a one-label {@link PeftClassifier}. */
    public static final class Builder extends TrainerBuilder<Builder, PreferenceDataset, PeftClassifier> {
        private RewardConfig reward = RewardConfig.defaults();

        private Builder() {
            super("PreferenceDataset.of(pairs)", TrainedModel::of);
        }

        /**
         * The loss settings (default: {@link RewardConfig#defaults()}).
         *
         * @param value the settings
         * @return this builder
         */
        public Builder reward(RewardConfig value) {
            if (value == null) {
                throw new IllegalArgumentException("reward(...) must not be null: RewardConfig.defaults() is TRL's loss");
            }
            reward = value;
            return this;
        }

        /**
         * Builds the trainer; missing or inconsistent settings are reported here.
         *
         * @return the trainer
         */
        public RewardTrainer build() {
            padTokenId = ClassifierPadding.resolve(model, config, padTokenId, padTokenIdSet);
            return new RewardTrainer(loop(data -> new RewardObjective(model, data, reward, padTokenId)));
        }
    }
}
