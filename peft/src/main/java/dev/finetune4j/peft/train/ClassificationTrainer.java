package dev.finetune4j.peft.train;

import dev.finetune4j.peft.PeftClassifier;

/**
 * Fine-tuning of a sequence classifier's adapter (BERT or a decoder's {@code *ForSequenceClassification}, wrapped
 * by {@code Peft.wrap}) with transformers' loss for its {@code problem_type}: cross-entropy over the classes, the
 * squared error of the one score of a regression ({@code num_labels} 1), or for
 * {@code multi_label_classification} the binary cross-entropy of each class's score against the row's 0/1 label
 * vector; mean over the rows (multi-label: rows and classes) of each optimizer step. The head ({@code classifier} or
 * {@code score}) trains with the adapter and is saved as PEFT's {@code modules_to_save}. Evaluations report the
 * loss, and for classes {@code accuracy} and {@code f1_macro} in {@link EvalMetrics#extra()} (multi-label: subset
 * {@code accuracy}, {@code f1_micro} and {@code f1_macro}, a class predicted where its score is above 0;
 * scikit-learn's definitions, from eval's {@code ClassificationMetrics}).
 *
 * <pre>{@code
 * try (var base = AutoModel.loadSequenceClassifier(dir)) {
 *     PeftClassifier clf = Peft.wrap(base, LoraConfig.builder().r(8).loraAlpha(16).build());
 *     ClassificationTrainer trainer = ClassificationTrainer.builder().model(clf).config(cfg)
 *         .trainData(ClassificationDataset.fromTexts(texts, labels, tokenizer, 256)).evalData(validation).build();
 *     TrainResult r = trainer.train();
 *     clf.save(Path.of("out"));  // PEFT's SEQ_CLS adapter
 * }
 * }</pre>
 *
 * <p>Micro-batches are padded with the classifier's {@code pad_token_id} when its config has one (a decoder finds
 * each row's last token by it); {@link Builder#padTokenId} then must be that id or left unset.
 */
public final class ClassificationTrainer extends Trainer {

    private ClassificationTrainer(TrainingLoop loop) {
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

    /** Builder for {@link ClassificationTrainer}: data are {@link ClassificationDataset}s, the model a {@link PeftClassifier}. */
    public static final class Builder extends TrainerBuilder<Builder, ClassificationDataset, PeftClassifier> {

        private Builder() {
            super("ClassificationDataset.of(inputIds, labels) or ClassificationDataset.fromTexts(texts, labels, tokenizer, "
                    + "maxLength)", TrainedModel::of);
        }

        /**
         * Builds the trainer; missing or inconsistent settings are reported here.
         *
         * @return the trainer
         */
        public ClassificationTrainer build() {
            padTokenId = ClassifierPadding.resolve(model, config, padTokenId, padTokenIdSet);
            return new ClassificationTrainer(loop(data -> new ClassificationObjective(model, data, padTokenId)));
        }
    }
}
