package dev.finetune4j.peft.train;

import dev.finetune4j.peft.PeftModel;

/**
 * Supervised fine-tuning of an adapter with Hugging Face's causal-LM loss (labels shifted by one, -100
 * ignored, mean over the label tokens of each optimizer step).
 *
 * <pre>{@code
 * PeftModel m = Peft.wrap(base, LoraConfig.builder().r(8).loraAlpha(16).targetModules("q_proj", "v_proj").build());
 * SftTrainer trainer = SftTrainer.builder().model(m).config(cfg)
 *     .trainData(TokenizedDataset.of(inputIds, labels)).evalData(validation).listener(progress).build();
 * TrainResult r = trainer.train();     // or trainer.resume(Checkpoints.latest(outputDir).orElseThrow())
 * m.save(Path.of("out"));              // PEFT format
 * }</pre>
 *
 */
public final class SftTrainer extends Trainer {

    private SftTrainer(TrainingLoop loop) {
        super(loop);
    }

    /**
     * A builder without model, configuration or data.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link SftTrainer}: training (and optional validation) data are {@link TokenizedDataset}s. */
    public static final class Builder extends TrainerBuilder<Builder, TokenizedDataset, PeftModel> {

        private Builder() {
            super("TokenizedDataset.of(inputIds, labels) or SftDataset.fromExamples(examples, tokenizer, format)",
                    TrainedModel::of);
        }

        /**
         * Builds the trainer; missing or inconsistent settings are reported here.
         *
         * @return the trainer
         */
        public SftTrainer build() {
            return new SftTrainer(loop(data -> new SftObjective(model, data, padTokenId)));
        }
    }
}
