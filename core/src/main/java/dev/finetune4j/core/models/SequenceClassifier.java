package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

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
    default float[][] logits(long[][] inputIds, long[][] attentionMask) {
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            float[] flat = forward(inputIds, attentionMask).toFloatArray();
            int n = numLabels();
            float[][] out = new float[inputIds.length][n];
            for (int i = 0; i < out.length; i++) {
                System.arraycopy(flat, i * n, out[i], 0, n);
            }
            return out;
        }
    }

    /**
     * The number of classes.
     *
     * @return the label count
     */
    int numLabels();

    /**
     * The labels' names, the problem type and the pad id. This default names the classes {@code LABEL_i} and derives
     * the problem type from the label count, as transformers does when config.json says nothing.
     *
     * @return the classification settings
     */
    default ClassifierConfig classifierConfig() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < numLabels(); i++) {
            names.add("LABEL_" + i);
        }
        return new ClassifierConfig(names, ClassifierConfig.ProblemType.of(null, numLabels()), OptionalLong.empty());
    }

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
