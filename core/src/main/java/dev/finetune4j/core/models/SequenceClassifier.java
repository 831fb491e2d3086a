package dev.finetune4j.core.models;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * A sequence classifier: one score per label for every sequence of a batch.
 *
 * <pre>{@code
 * try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(dir)) {
 *     float[][] scores = clf.logits(inputIds, attentionMask); // [batch][labels]
 * }
 * }</pre>
 */
public interface SequenceClassifier extends AutoCloseable {

    /**
     * Class scores of a batch, without autograd.
     *
     * @param inputIds      token ids, {@code [batch][seq]}
     * @param attentionMask 1 for real tokens, 0 for padding; null means all 1
     * @return {@code [batch][numLabels]}
     */
    float[][] logits(long[][] inputIds, long[][] attentionMask);

    /**
     * The number of classes.
     *
     * @return the label count
     */
    int numLabels();

    /**
     * Class scores with autograd, the tensor-level face of {@link #logits} (what training and adapters use).
     *
     * @param inputIds      token ids, {@code [batch][seq]}
     * @param attentionMask 1 for real tokens, 0 for padding; null means all 1
     * @return scores (B, numLabels)
     */
    Tensor forward(long[][] inputIds, long[][] attentionMask);

    /**
     * Shape facts of the encoder (model type, hidden size, layers), for adapters.
     *
     * @return the spec
     */
    ModelSpec spec();

    /**
     * The scope that owns the model's parameters (PEFT methods allocate their own weights there too).
     *
     * @return the scope
     */
    TensorScope parameterScope();

    @Override
    void close();
}
