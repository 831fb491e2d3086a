package dev.finetune4j.core.backend;

import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;

/**
 * Scaled dot-product attention {@code softmax(cap(q k^T * scale) + mask) v} with grouped-query attention (query head
 * h reads key/value head {@code h / (H / Hkv)}). The forward keeps only each query's log-sum-exp of the scores,
 * so no (T, S) matrix has to outlive a call; the backward recomputes the probabilities from it.
 * q, out, dOut, dq: (B, H, T, D); k, v, dk, dv: (B, Hkv, S, D) with S >= T; logSumExp: (B, H, T). All contiguous
 * except {@code k} and {@code v}, which may be any views whose positions are contiguous rows of D values (strides
 * (any, any, D, 1)): the filled part of a KV cache's larger buffer is read where it lies; {@code out}, which may be
 * any such view in F32 or BF16 (the attention op's token-major bf16 output, written without a float32 copy); and
 * {@code dOut}, any view. {@code cap} is the identity, or with a soft cap c > 0 (Gemma 2's attention logit
 * soft-capping) {@code c * tanh(s / c)}, applied to the scaled scores before the mask. A head may have a sink
 * (gpt-oss's {@code sinks}): one more logit in its softmax's denominator with no value vector, so that a query can
 * give part of its attention to nothing; {@code logSumExp} then includes it, and the backward needs nothing else.
 * In training the probabilities may be dropped out ({@link AttentionDropout}) after the softmax, before they weigh
 * the values; the log-sum-exp is the one before dropout.
 */
public interface AttentionKernels {

    /**
     * {@code out} and {@code logSumExp}; a query that sees no key gets output 0 and log-sum-exp -infinity.
     *
     * @param q the queries, (B, H, T, D) contiguous
     * @param k the keys, (B, Hkv, S, D) contiguous
     * @param v the values, (B, Hkv, S, D) contiguous
     * @param mask which keys each query may see
     * @param scale multiplier of the scores
     * @param softCap the scaled scores' soft cap, or 0 for none
     * @param out receives the output, (B, H, T, D): rows of D contiguous F32 or BF16 values, any other strides (BF16
     *            values are rounded once from the float32 result)
     * @param logSumExp receives each query's log-sum-exp of its scaled scores, (B, H, T), for the backward
     */
    default void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, float softCap, Tensor out,
                           Tensor logSumExp) {
        attention(q, k, v, mask, scale, softCap, null, out, logSumExp);
    }

    /**
     * {@code out} and {@code logSumExp} with each head's sink in the softmax's denominator: {@code out} is
     * {@code sum_j exp(s_j) v_j / (sum_j exp(s_j) + exp(sink_h))} and {@code logSumExp} the log of that denominator.
     * A query that sees no key gets output 0 and log-sum-exp {@code sink_h}. The backward
     * ({@link #attentionBackward}) is the one without sinks given this log-sum-exp.
     *
     * @param q the queries, (B, H, T, D) contiguous
     * @param k the keys, (B, Hkv, S, D) contiguous
     * @param v the values, (B, Hkv, S, D) contiguous
     * @param mask which keys each query may see
     * @param scale multiplier of the scores
     * @param softCap the scaled scores' soft cap, or 0 for none
     * @param sinks each head's sink logit, (H) contiguous F32, or null for none
     * @param out receives the output, as in {@link #attention(Tensor, Tensor, Tensor, AttentionMask, float, float,
     *            Tensor, Tensor)}
     * @param logSumExp receives each query's log of the softmax's denominator, (B, H, T)
     */
    default void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, float softCap, Tensor sinks,
                           Tensor out, Tensor logSumExp) {
        attention(q, k, v, mask, scale, softCap, sinks, null, out, logSumExp);
    }

    /**
     * {@code out} and {@code logSumExp} as {@link #attention(Tensor, Tensor, Tensor, AttentionMask, float, float,
     * Tensor, Tensor, Tensor)} computes them, the probabilities dropped out by {@code dropout} before they weigh the
     * values ({@code logSumExp} stays the one before dropout).
     *
     * @param q the queries, (B, H, T, D) contiguous
     * @param k the keys, (B, Hkv, S, D) contiguous
     * @param v the values, (B, Hkv, S, D) contiguous
     * @param mask which keys each query may see
     * @param scale multiplier of the scores
     * @param softCap the scaled scores' soft cap, or 0 for none
     * @param sinks each head's sink logit, (H) contiguous F32, or null for none
     * @param dropout the probabilities' dropout, or null for none
     * @param out receives the output, as in {@link #attention(Tensor, Tensor, Tensor, AttentionMask, float, float,
     *            Tensor, Tensor)}
     * @param logSumExp receives each query's log of the softmax's denominator, (B, H, T)
     */
    void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, float softCap, Tensor sinks,
                   AttentionDropout dropout, Tensor out, Tensor logSumExp);

    /**
     * Checks that {@code out} is an output {@link #attention} takes: a rank-4 F32 or BF16 view whose rows of D values
     * are contiguous.
     *
     * @param out the output to check
     * @throws IllegalArgumentException naming the tensor and its strides when it is not
     */
    static void requireOutputRows(Tensor out) {
        if (out.dtype() != DType.F32 && out.dtype() != DType.BF16 || out.rank() != 4 || out.strides()[3] != 1) {
            throw new IllegalArgumentException("attention writes its output as (B, H, T, D) rows of D contiguous F32 or"
                    + " BF16 values, got " + out + " with strides " + Arrays.toString(out.strides()));
        }
    }

    /**
     * (forward: {@link #attention}) {@code dq}, {@code dk}, {@code dv} (overwritten, not accumulated).
     *
     * @param q the forward's queries
     * @param k the forward's keys
     * @param v the forward's values
     * @param mask the forward's mask
     * @param scale the forward's scale
     * @param softCap the forward's soft cap
     * @param out the forward's output
     * @param logSumExp the forward's log-sum-exp
     * @param dOut the gradient of the output, (B, H, T, D), any layout
     * @param dq receives the gradient of {@code q}
     * @param dk receives the gradient of {@code k}
     * @param dv receives the gradient of {@code v}
     */
    default void attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, float softCap,
                                   Tensor out, Tensor logSumExp, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        attentionBackward(q, k, v, mask, scale, softCap, null, out, logSumExp, dOut, dq, dk, dv);
    }

    /**
     * (forward: {@link #attention} with {@code dropout}) {@code dq}, {@code dk}, {@code dv} (overwritten), the
     * forward's mask redrawn from its key.
     *
     * @param q the forward's queries
     * @param k the forward's keys
     * @param v the forward's values
     * @param mask the forward's mask
     * @param scale the forward's scale
     * @param softCap the forward's soft cap
     * @param dropout the forward's dropout, or null for none
     * @param out the forward's output
     * @param logSumExp the forward's log-sum-exp
     * @param dOut the gradient of the output, (B, H, T, D), any layout
     * @param dq receives the gradient of {@code q}
     * @param dk receives the gradient of {@code k}
     * @param dv receives the gradient of {@code v}
     */
    void attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, float softCap,
                           AttentionDropout dropout, Tensor out, Tensor logSumExp, Tensor dOut, Tensor dq, Tensor dk,
                           Tensor dv);

    /**
     * The widest heads these kernels take; a layer with a choice of head widths (multi-head latent attention, which
     * may attend over its latent instead of expanded heads) asks before it chooses.
     *
     * @return the largest D of q, k and v, unbounded by default
     */
    default int maxHeadDim() {
        return Integer.MAX_VALUE;
    }
}
