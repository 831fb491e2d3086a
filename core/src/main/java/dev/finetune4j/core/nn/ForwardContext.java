package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.autograd.Dropout;
import dev.finetune4j.core.backend.AttentionDropout;
import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.tensor.Tensor;

import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * What every layer of one forward pass shares.
 *
 * @param mask      attention visibility over the S = cached + new key positions
 * @param positions [B][T] position index of each new token (for rotary or learned position embeddings)
 * @param cache     earlier keys/values (KV cache or prefix), or null
 * @param dropoutStream in training mode the model's dropout stream as it is when asked (each layer of the stack runs
 *                  with a stream of its own, so that a recompute draws the same masks), or null in eval mode
 * @param sequenceLengths [B] each row's length after this pass as if it were alone, or null for the batch-wide rule
 *                  ({@code ModelInput.sequenceLengths})
 * @param paddingKeep (B, T, 1) on the model's device, 1 for each new token that is real and 0 for padding: what a
 *                    recurrent layer multiplies its input by (made once per pass by a model that has such layers);
 *                    null when no new token is padding, or the model has no such layer
 * @param segmentOffsets (B, T) F32 on the model's device, each token's position within its packed example: where a
 *                       recurrent layer restarts its convolution and state (made once per pass by a model that has
 *                       such layers); null when the pass is not packed, or the model has no such layer
 * @param sharedKeyValues the keys and values that later layers of this pass reuse (Gemma 4's kv-shared layers); null
 *                        when no layer shares
 * @param inputIds [B][T] the new tokens' ids where the pass was given ids (Gemma 4's per-layer inputs are looked up
 *                 by id), or null
 */
public record ForwardContext(AttentionMask mask, int[][] positions, KvCache cache,
                             Supplier<SplittableRandom> dropoutStream, int[] sequenceLengths, Tensor paddingKeep,
                             Tensor segmentOffsets, SharedKeyValues sharedKeyValues, long[][] inputIds) {

    /**
     * This context without the recurrent layers' padding factors and segment offsets.
     *
     * @param mask      attention visibility over the S = cached + new key positions
     * @param positions [B][T] position index of each new token
     * @param cache     earlier keys/values (KV cache or prefix), or null
     * @param dropoutStream the model's dropout stream in training mode, or null in eval mode
     * @param sequenceLengths [B] each row's length after this pass as if it were alone, or null
     */
    public ForwardContext(AttentionMask mask, int[][] positions, KvCache cache,
                          Supplier<SplittableRandom> dropoutStream, int[] sequenceLengths) {
        this(mask, positions, cache, dropoutStream, sequenceLengths, null, null, null, null);
    }

    /**
     * This context with the recurrent layers' inputs: {@code keep} as its {@link #paddingKeep()} and {@code offsets}
     * as its {@link #segmentOffsets()}.
     *
     * @param keep (B, T, 1): 1 for a real new token, 0 for padding; or null
     * @param offsets (B, T): each token's position within its packed example; or null
     * @return the context
     */
    public ForwardContext withRecurrentInputs(Tensor keep, Tensor offsets) {
        return new ForwardContext(mask, positions, cache, dropoutStream, sequenceLengths, keep, offsets,
                sharedKeyValues, inputIds);
    }

    /**
     * This context with {@code shared} as its {@link #sharedKeyValues()}.
     *
     * @param shared the keys and values later layers of this pass reuse
     * @return the context
     */
    public ForwardContext withSharedKeyValues(SharedKeyValues shared) {
        return new ForwardContext(mask, positions, cache, dropoutStream, sequenceLengths, paddingKeep, segmentOffsets,
                shared, inputIds);
    }

    /**
     * This context with {@code ids} as its {@link #inputIds()}.
     *
     * @param ids [B][T] the new tokens' ids, or null
     * @return the context
     */
    public ForwardContext withInputIds(long[][] ids) {
        return new ForwardContext(mask, positions, cache, dropoutStream, sequenceLengths, paddingKeep, segmentOffsets,
                sharedKeyValues, ids);
    }

    /**
     * {@code x} with dropout {@code p} in training mode (its key the next draw of the dropout stream); {@code x}
     * itself in eval mode or when p is 0, drawing nothing.
     *
     * @param x the input
     * @param p the probability of zeroing an element, in [0, 1)
     * @return the input with dropout applied
     */
    public Tensor dropout(Tensor x, float p) {
        return dropoutStream == null || p == 0f ? x : Dropout.apply(x, p, nextKey());
    }

    /**
     * The attention probabilities' dropout {@code p} in training mode (its key the next draw of the dropout stream);
     * null, drawing nothing, in eval mode or when p is 0.
     *
     * @param p the probability of dropping a weight, in [0, 1)
     * @return the dropout to hand to the attention op, or null
     */
    public AttentionDropout attentionDropout(float p) {
        return dropoutStream == null || p == 0f ? null : new AttentionDropout(p, nextKey());
    }

    private DropoutKey nextKey() {
        return new DropoutKey(dropoutStream.get().nextLong(), 0, 0);
    }
}
