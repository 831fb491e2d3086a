package dev.finetune4j.core.models;

/**
 * A causal language model: next-token logits for every position of a batch.
 *
 * <pre>{@code
 * try (CausalLM lm = AutoModel.loadCausalLM(Path.of("model-dir"))) {
 *     float[][][] logits = lm.logits(new long[][]{{1, 2, 3}}, null); // [batch][seq][vocab]
 * }
 * }</pre>
 *
 * <p>Implementations are safe to call from several threads at once for inference.
 */
public interface CausalLM extends AutoCloseable {

    /**
     * Logits for every position.
     *
     * @param inputIds      token ids, {@code [batch][seq]}, all rows the same length
     * @param attentionMask 1 for real tokens and 0 for padding, same shape as {@code inputIds}; null means all 1
     * @return {@code [batch][seq][vocab]}
     */
    float[][][] logits(long[][] inputIds, long[][] attentionMask);

    /**
     * Size of the output vocabulary.
     *
     * @return the vocabulary size V
     */
    int vocabSize();

    /**
     * Longest sequence the model's position scheme supports (config {@code max_position_embeddings}).
     *
     * @return the most positions one sequence may have
     */
    int maxPositionEmbeddings();

    /** Frees the model's native memory. */
    @Override
    void close();
}
