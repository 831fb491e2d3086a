package dev.finetune4j.core.models.bert;

import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * BERT encoder with the pooler (tanh of the [CLS] state) and a linear classifier, as Hugging Face's
 * {@code BertForSequenceClassification}. In training mode the embeddings, the attention probabilities, each
 * sub-layer's output and the pooled output are dropped out as its config says ({@link BertConfig#dropouts},
 * {@link BertConfig#classifierDropout}).
 */
public final class BertForSequenceClassification extends EncoderClassifier {
    private final BertConfig config;

    /**
     * Builds the module tree with zero weights in {@code scope}, its classes named {@code LABEL_i}; load them
     * afterwards.
     *
     * @param scope owns the weights
     * @param c the configuration
     */
    public BertForSequenceClassification(TensorScope scope, BertConfig c) {
        this(scope, c, null);
    }

    /**
     * Builds the module tree with zero weights in {@code scope}; load them afterwards.
     *
     * @param scope      owns the weights
     * @param c          the configuration, of model type {@code bert}
     * @param classifier the classes' names and problem type ({@code ClassifierConfig.fromJson} of the same
     *                   config.json), whose count sizes the head; null names {@code c.numLabels()} classes {@code LABEL_i}
     */
    public BertForSequenceClassification(TensorScope scope, BertConfig c, ClassifierConfig classifier) {
        super(scope, requireType(c, "bert"), classifier);
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
