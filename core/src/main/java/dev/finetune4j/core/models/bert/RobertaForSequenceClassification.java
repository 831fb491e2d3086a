package dev.finetune4j.core.models.bert;

import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * RoBERTa or XLM-RoBERTa with its classification head, as Hugging Face's {@code RobertaForSequenceClassification}
 * and {@code XLMRobertaForSequenceClassification}: BERT's layers under {@code roberta.}, position ids that count the
 * real tokens from {@code pad_token_id + 1}, no pooler, and on the first token's state {@code classifier.dense},
 * tanh and {@code classifier.out_proj}, each projection after a dropout of {@link BertConfig#classifierDropout} in
 * training mode.
 */
public final class RobertaForSequenceClassification extends EncoderClassifier {
    private final BertConfig config;

    /**
     * Builds the module tree with zero weights in {@code scope}; load them afterwards.
     *
     * @param scope      owns the weights
     * @param c          the configuration, of model type {@code roberta} or {@code xlm-roberta}
     * @param classifier the classes' names and problem type, whose count sizes the head; null names
     *                   {@code c.numLabels()} classes {@code LABEL_i}
     */
    public RobertaForSequenceClassification(TensorScope scope, BertConfig c, ClassifierConfig classifier) {
        super(scope, requireType(c, "roberta", "xlm-roberta"), classifier);
        this.config = c;
    }

    /**
     * The configuration this model was built from.
     *
     * @return the configuration
     */
    public BertConfig config() {
        return config;
    }
}
