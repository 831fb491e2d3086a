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
 *     float[][] pairs = clf.logits(pairIds, pairMask, tokenTypeIds); // sentence pairs (BERT: types 0 and 1)
 * }
 * }</pre>
 */
public interface SequenceClassifier extends AutoCloseable {

    /**
     * Class scores of a batch, without autograd; every token of type 0.
     *
     * @param inputIds      token ids, {@code [batch][seq]}
     * @param attentionMask 1 for real tokens, 0 for padding; null means all 1
     * @return {@code [batch][numLabels]}
     */
    default float[][] logits(long[][] inputIds, long[][] attentionMask) {
        return logits(inputIds, attentionMask, null);
    }

    /**
     * Class scores of a batch of sentence pairs (or single texts), without autograd.
     *
     * @param inputIds      token ids, {@code [batch][seq]}
     * @param attentionMask 1 for real tokens, 0 for padding; null means all 1
     * @param tokenTypeIds  each token's type, {@code [batch][seq]} (BERT's 0 for the first text, 1 for the second:
     *                      {@link dev.finetune4j.core.tokenizer.PairEncoding}); null means all 0
     * @return {@code [batch][numLabels]}
     * @throws IllegalArgumentException for a type id at or above {@link #typeVocabSize()} (any but 0 for a model
     *                                  without token types)
     */
    default float[][] logits(long[][] inputIds, long[][] attentionMask, long[][] tokenTypeIds) {
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            float[] flat = forward(inputIds, attentionMask, tokenTypeIds).toFloatArray();
            int n = numLabels();
            float[][] out = new float[inputIds.length][n];
            for (int i = 0; i < out.length; i++) {
                System.arraycopy(flat, i * n, out[i], 0, n);
            }
            return out;
        }
    }

    /**
     * The rows of the model's token-type table, transformers' {@code type_vocab_size}: 2 for BERT (the two texts of
     * a pair), 1 for RoBERTa and XLM-RoBERTa, 0 for a model without one (DistilBERT, the decoders). Type ids are
     * below it, or all 0; a model below 2 reads a pair from its template's separators alone, and its tokenizer's
     * type ids are not passed (transformers' tokenizers of those models return none).
     *
     * @return the count; this default 0
     */
    default int typeVocabSize() {
        return 0;
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
     * Class scores with autograd, the tensor-level face of {@link #logits} (what training and adapters use); every
     * token of type 0.
     *
     * @param inputIds      token ids, {@code [batch][seq]}
     * @param attentionMask 1 for real tokens, 0 for padding; null means all 1
     * @return scores (B, numLabels)
     */
    default Tensor forward(long[][] inputIds, long[][] attentionMask) {
        return forward(inputIds, attentionMask, null);
    }

    /**
     * Class scores with autograd of a batch of sentence pairs (or single texts).
     *
     * @param inputIds      token ids, {@code [batch][seq]}
     * @param attentionMask 1 for real tokens, 0 for padding; null means all 1
     * @param tokenTypeIds  each token's type, {@code [batch][seq]}, below {@link #typeVocabSize()}; null means all 0
     * @return scores (B, numLabels)
     * @throws IllegalArgumentException for a type id out of range, naming its row, column and the limit
     */
    Tensor forward(long[][] inputIds, long[][] attentionMask, long[][] tokenTypeIds);

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
