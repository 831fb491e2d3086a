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
 */
public record ModelInput(long[][] inputIds, Tensor inputsEmbeds, long[][] attentionMask, int[][] segments, KvCache cache,
                         int[][] positionIds) {

    /** An input with positions counted from the cache's length. */
    public ModelInput(long[][] inputIds, Tensor inputsEmbeds, long[][] attentionMask, int[][] segments, KvCache cache) {
        this(inputIds, inputsEmbeds, attentionMask, segments, cache, null);
    }

    public static ModelInput of(long[][] inputIds, long[][] attentionMask) {
        return new ModelInput(inputIds, null, attentionMask, null, null);
    }

    public int batchSize() {
        return inputIds != null ? inputIds.length : inputsEmbeds.dim(0);
    }

    public int length() {
        return inputIds != null ? (inputIds.length == 0 ? 0 : inputIds[0].length) : inputsEmbeds.dim(1);
    }

    public ModelInput withCache(KvCache newCache) {
        return new ModelInput(inputIds, inputsEmbeds, attentionMask, segments, newCache, positionIds);
    }

    public ModelInput withEmbeds(Tensor embeds, long[][] mask) {
        return new ModelInput(null, embeds, mask, segments, cache, positionIds);
    }
}
