package dev.finetune4j.core.backend;

import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.tensor.Tensor;

/**
 * Scaled dot-product attention {@code softmax(q k^T * scale + mask) v} with grouped-query attention (query head
 * h reads key/value head {@code h / (H / Hkv)}). The forward keeps only each query's log-sum-exp of the scores,
 * so no (T, S) matrix has to outlive a call; the backward recomputes the probabilities from it.
 * q, out, dOut, dq: (B, H, T, D); k, v, dk, dv: (B, Hkv, S, D) with S >= T; logSumExp: (B, H, T). All contiguous
 * except {@code k} and {@code v}, which may be any views whose positions are contiguous rows of D values (strides
 * (any, any, D, 1)): the filled part of a KV cache's larger buffer is read where it lies.
 */
public interface AttentionKernels {

    /**
     * {@code out} and {@code logSumExp}; a query that sees no key gets output 0 and log-sum-exp -infinity.
     */
    void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out, Tensor logSumExp);

    /** (forward: {@link #attention}) {@code dq}, {@code dk}, {@code dv} (overwritten, not accumulated). */
    void attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out,
                           Tensor logSumExp, Tensor dOut, Tensor dq, Tensor dk, Tensor dv);
}
