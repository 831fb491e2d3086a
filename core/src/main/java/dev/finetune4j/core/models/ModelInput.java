package dev.finetune4j.core.models;

import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.Tensor;

/**
 * One batch for a forward pass. Give either {@code inputIds} or {@code inputsEmbeds}.
 *
 * @param inputIds      [B][T] token ids, or null when {@code inputsEmbeds} is given
 * @param inputsEmbeds  (B, T, C) input embeddings (prompt tuning prepends virtual tokens here), or null
 * @param attentionMask [B][S] 1 for real tokens and 0 for padding over cached + new positions; null: all real
 * @param segments      [B][T] example ids of packed sequences (attention and positions restart per example), or null
 * @param cache         keys/values of earlier positions (generation, prefix tuning), or null
 * @param positionIds   [B][T] position of each new token, or null for cached length + index (restarting per
 *                      packed segment); left-padded batches give the positions of the real tokens here
 * @param sequenceLengths [B] each row's length after this pass as if it were alone (cached + new real tokens, or a
 *                      whole prompt read in chunks), for rotary scaling that switches with the length (Phi-3's
 *                      longrope) to judge each row by itself; null for transformers' batch-wide rule (the largest
 *                      position of the pass, plus one)
 */
public record ModelInput(long[][] inputIds, Tensor inputsEmbeds, long[][] attentionMask, int[][] segments, KvCache cache,
                         int[][] positionIds, int[] sequenceLengths) {

    /**
     * An input judged by transformers' batch-wide rule (no per-row sequence lengths).
     *
     * @param inputIds [B][T] token ids, or null when {@code inputsEmbeds} is given
     * @param inputsEmbeds (B, T, C) input embeddings, or null
     * @param attentionMask [B][S] 1 for real tokens and 0 for padding, or null
     * @param segments [B][T] example ids of packed sequences, or null
     * @param cache keys/values of earlier positions, or null
     * @param positionIds [B][T] position of each new token, or null for cached length + index
     */
    public ModelInput(long[][] inputIds, Tensor inputsEmbeds, long[][] attentionMask, int[][] segments, KvCache cache,
                      int[][] positionIds) {
        this(inputIds, inputsEmbeds, attentionMask, segments, cache, positionIds, null);
    }

    /**
     * An input with positions counted from the cache's length.
     *
     * @param inputIds [B][T] token ids, or null when {@code inputsEmbeds} is given
     * @param inputsEmbeds (B, T, C) input embeddings, or null
     * @param attentionMask [B][S] 1 for real tokens and 0 for padding, or null
     * @param segments [B][T] example ids of packed sequences, or null
     * @param cache keys/values of earlier positions, or null
     */
    public ModelInput(long[][] inputIds, Tensor inputsEmbeds, long[][] attentionMask, int[][] segments, KvCache cache) {
        this(inputIds, inputsEmbeds, attentionMask, segments, cache, null, null);
    }

    /**
     * A batch of token ids without a cache.
     *
     * @param inputIds [B][T] token ids
     * @param attentionMask [B][T] 1 for real tokens and 0 for padding, or null for all real
     * @return the input
     */
    public static ModelInput of(long[][] inputIds, long[][] attentionMask) {
        return new ModelInput(inputIds, null, attentionMask, null, null);
    }

    /**
     * The batch size B.
     *
     * @return the number of sequences
     */
    public int batchSize() {
        return inputIds != null ? inputIds.length : inputsEmbeds.dim(0);
    }

    /**
     * The number T of new positions per sequence.
     *
     * @return the sequence length
     */
    public int length() {
        return inputIds != null ? (inputIds.length == 0 ? 0 : inputIds[0].length) : inputsEmbeds.dim(1);
    }

    /**
     * This input with another cache.
     *
     * @param newCache the cache, or null
     * @return a new input
     */
    public ModelInput withCache(KvCache newCache) {
        return new ModelInput(inputIds, inputsEmbeds, attentionMask, segments, newCache, positionIds, sequenceLengths);
    }

    /**
     * This input given as embeddings instead of ids.
     *
     * @param embeds the input embeddings, (B, T, C)
     * @param mask the attention mask over cached and new positions, or null
     * @return a new input
     */
    public ModelInput withEmbeds(Tensor embeds, long[][] mask) {
        return new ModelInput(null, embeds, mask, segments, cache, positionIds, sequenceLengths);
    }
}
