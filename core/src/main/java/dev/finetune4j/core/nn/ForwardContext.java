package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.AttentionMask;

import java.util.SplittableRandom;

/**
 * What every layer of one forward pass shares.
 *
 * @param mask      attention visibility over the S = cached + new key positions
 * @param positions [B][T] position index of each new token (for rotary or learned position embeddings)
 * @param cache     earlier keys/values (KV cache or prefix), or null
 * @param random    the dropout stream in training mode, or null in eval mode
 * @param sequenceLengths [B] each row's length after this pass as if it were alone, or null for the batch-wide rule
 *                  ({@code ModelInput.sequenceLengths})
 */
public record ForwardContext(AttentionMask mask, int[][] positions, KvCache cache, SplittableRandom random,
                             int[] sequenceLengths) {
}
