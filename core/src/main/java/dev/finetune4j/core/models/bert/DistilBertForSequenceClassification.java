package dev.finetune4j.core.models.bert;

import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * DistilBERT with its classification head, as Hugging Face's {@code DistilBertForSequenceClassification}: layers
 * under {@code distilbert.transformer.layer.N} ({@code attention.{q,k,v,out}_lin}, {@code sa_layer_norm},
 * {@code ffn.lin1/lin2}, {@code output_layer_norm}), no token types, and on the first token's state
 * {@code pre_classifier}, ReLU, a dropout of {@code seq_classif_dropout} in training mode and {@code classifier}.
 */
public final class DistilBertForSequenceClassification extends EncoderClassifier {
    private final DistilBertConfig config;

    /**
     * Builds the module tree with zero weights in {@code scope}; load them afterwards.
     *
     * @param scope      owns the weights
     * @param c          the configuration
     * @param classifier the classes' names and problem type, whose count sizes the head; null names
     *                   {@code c.numLabels()} classes {@code LABEL_i}
     */
    public DistilBertForSequenceClassification(TensorScope scope, DistilBertConfig c, ClassifierConfig classifier) {
        super(scope, c, classifier);
        this.config = c;
    }

    /**
     * The configuration this model was built from.
     *
     * @return the configuration
     */
    public DistilBertConfig config() {
        return config;
    }
}
