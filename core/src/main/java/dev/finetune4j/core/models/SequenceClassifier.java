package dev.finetune4j.core.models;

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

    @Override
    void close();
}
