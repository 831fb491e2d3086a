package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.AttentionDropout;
import dev.finetune4j.core.backend.AttentionKernels;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Scaled dot-product attention, softmax(cap(q k^T * scale) + mask) v, with grouped-query attention: query head h
 * reads key/value head {@code h / (H / Hkv)}. Masked scores are -inf; a query with no visible key outputs 0.
 * The forward keeps each query's log-sum-exp instead of the (T, S) probabilities, and the backward recomputes
 * them ({@link AttentionKernels}), so memory grows linearly with the sequence length. {@code cap} is the identity
 * unless a soft cap is given (Gemma 2: {@code c * tanh(s / c)}). In training the probabilities may be dropped out.
 */
public final class Attention {
    private Attention() {
    }

    /**
     * The widest heads attention takes on a tensor's device ({@link AttentionKernels#maxHeadDim}).
     *
     * @param on a tensor on the device
     * @return the largest head dimension D of q, k and v there
     */
    public static int maxHeadDim(Tensor on) {
        return on.backend().attention().maxHeadDim();
    }

    /**
     * q: (B, H, T, D), k and v: (B, Hkv, S, D) with S >= T and H a multiple of Hkv -> (B, H, T, D).
     * The mask's per-row arrays, when present, are [B][S].
     *
     * @param q the queries, (B, H, T, D)
     * @param k the keys, (B, Hkv, S, D)
     * @param v the values, (B, Hkv, S, D)
     * @param mask which keys each query may see
     * @param scale multiplier of the scores, usually {@code 1 / sqrt(D)}
     * @return the attention output, (B, H, T, D)
     */
    public static Tensor scaledDotProduct(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale) {
        return scaledDotProduct(q, k, v, mask, scale, 0f);
    }

    /**
     * Attention whose scaled scores are soft-capped, {@code softCap * tanh(s / softCap)}, before the mask (Gemma 2's
     * {@code attn_logit_softcapping}); shapes as in {@link #scaledDotProduct(Tensor, Tensor, Tensor, AttentionMask,
     * float)}.
     *
     * @param q the queries, (B, H, T, D)
     * @param k the keys, (B, Hkv, S, D)
     * @param v the values, (B, Hkv, S, D)
     * @param mask which keys each query may see
     * @param scale multiplier of the scores
     * @param softCap the soft cap, or 0 for none
     * @return the attention output, (B, H, T, D)
     */
    public static Tensor scaledDotProduct(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale,
                                          float softCap) {
        return scaledDotProduct(q, k, v, mask, scale, softCap, null);
    }

    /**
     * Attention whose heads each have a sink (gpt-oss's {@code sinks}): one more logit in the softmax's denominator
     * with no value, so that a query may give part of its attention to nothing. Shapes as in
     * {@link #scaledDotProduct(Tensor, Tensor, Tensor, AttentionMask, float)}; the sinks get their gradient,
     * {@code -sum over queries of p_sink * rowsum(dOut * out)} (the sink's probability times the softmax backward's
     * row sum, its value being 0).
     *
     * @param q the queries, (B, H, T, D)
     * @param k the keys, (B, Hkv, S, D)
     * @param v the values, (B, Hkv, S, D)
     * @param mask which keys each query may see
     * @param scale multiplier of the scores
     * @param softCap the soft cap, or 0 for none
     * @param sinks each head's sink logit, (H), or null for none
     * @return the attention output, (B, H, T, D)
     */
    public static Tensor scaledDotProduct(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale,
                                          float softCap, Tensor sinks) {
        return scaledDotProduct(q, k, v, mask, scale, softCap, sinks, null);
    }

    /**
     * Attention whose probabilities are dropped out in training ({@link AttentionDropout}: after the softmax, before
     * they weigh the values, as transformers' attention dropout); otherwise as {@link #scaledDotProduct(Tensor,
     * Tensor, Tensor, AttentionMask, float, float, Tensor)}.
     *
     * @param q the queries, (B, H, T, D)
     * @param k the keys, (B, Hkv, S, D)
     * @param v the values, (B, Hkv, S, D)
     * @param mask which keys each query may see
     * @param scale multiplier of the scores
     * @param softCap the soft cap, or 0 for none
     * @param sinks each head's sink logit, (H), or null for none
     * @param dropout the probabilities' dropout, or null for none
     * @return the attention output, (B, H, T, D)
     */
    public static Tensor scaledDotProduct(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale,
                                          float softCap, Tensor sinks, AttentionDropout dropout) {
        if (!(softCap >= 0) || Float.isInfinite(softCap)) {
            throw new IllegalArgumentException("attention: soft cap " + softCap + " must be finite and positive, or 0"
                    + " for none");
        }
        if (q.rank() != 4 || k.rank() != 4 || !k.shape().equals(v.shape()) || k.dim(0) != q.dim(0)
                || q.dim(1) % k.dim(1) != 0 || k.dim(3) != q.dim(3) || k.dim(2) < q.dim(2)) {
            throw new IllegalArgumentException("attention: q " + q.shape() + ", k " + k.shape() + ", v " + v.shape()
                    + " do not fit (need q (B, H, T, D), k and v (B, Hkv, S, D), H % Hkv == 0, S >= T)");
        }
        checkMask(mask, q.dim(0), k.dim(2));
        if (sinks != null && !sinks.shape().equals(Shape.of(q.dim(1)))) {
            throw new IllegalArgumentException("attention: sinks " + sinks.shape() + " must hold one logit per query "
                    + "head, (" + q.dim(1) + ")");
        }
        Ops.sameDevice(q, k, v);
        AttentionKernels kernels = q.backend().attention();
        Tensor qc = Bf16Boundaries.operand(q).detach().contiguous();
        Tensor kc = rowsContiguous(Bf16Boundaries.operand(k).detach());
        Tensor vc = rowsContiguous(Bf16Boundaries.operand(v).detach());
        Tensor stored = Precision.current() == Precision.BF16_MIXED ? tokenMajorBf16(q) : Tensor.empty(q.device(),
                q.shape());
        Tensor logSumExp = Tensor.empty(q.device(), Shape.of(q.dim(0), q.dim(1), q.dim(2)));
        Tensor sinkLogits = sinks == null ? null : sinks.detach().to(DType.F32).contiguous();
        kernels.attention(qc, kc, vc, mask, scale, softCap, sinkLogits, dropout, stored, logSumExp);
        Tensor outValues = stored.detach();
        GradNode.Backward backward = dOut -> {
            Tensor dq = Tensor.empty(q.device(), q.shape());
            Tensor dk = Tensor.empty(k.device(), k.shape());
            Tensor dv = Tensor.empty(v.device(), v.shape());
            // dOut in any layout (the gradient of the merged heads): the kernels read or convert it where it is
            kernels.attentionBackward(qc, kc, vc, mask, scale, softCap, dropout, outValues, logSumExp, dOut.detach(),
                    dq, dk, dv);
            if (sinks == null) {
                return new Tensor[]{dq, dk, dv};
            }
            // frozen sinks (LoRA on a gpt-oss) need no gradient: skip the (B, H, T, D) product behind it
            return new Tensor[]{dq, dk, dv, sinks.requiresGrad() ? sinkGradient(sinkLogits, logSumExp, outValues, dOut)
                    : null};
        };
        return sinks == null ? Autograd.record("attention", stored, backward, q, k, v)
                : Autograd.record("attention", stored, backward, q, k, v, sinks);
    }

    /**
     * The same attention composed from matmuls and a softmax, for heads wider than the device's kernels take
     * ({@link #maxHeadDim}): softmax(q k^T * scale + mask) v, a query with no visible key giving 0 as the kernels do.
     * It holds the (B, H, T, S) probabilities, so it suits decoding (few queries T over many keys S), not training.
     * Query heads that read one key head are stacked into one matrix per key head, so the keys are read once per key
     * head, not once per query head. The values may be narrower or wider than the keys.
     *
     * @param q the queries, (B, H, T, D)
     * @param k the keys, (B, Hkv, S, D)
     * @param v the values, (B, Hkv, S, Dv)
     * @param mask which keys each query may see
     * @param scale multiplier of the scores
     * @return the attention output, (B, H, T, Dv)
     */
    public static Tensor composed(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale) {
        if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4 || k.dim(0) != q.dim(0) || q.dim(1) % k.dim(1) != 0
                || k.dim(3) != q.dim(3) || k.dim(2) < q.dim(2) || !v.shape().with(3, k.dim(3)).equals(k.shape())) {
            throw new IllegalArgumentException("composed attention: q " + q.shape() + ", k " + k.shape() + ", v "
                    + v.shape() + " do not fit (need q (B, H, T, D), k (B, Hkv, S, D), v (B, Hkv, S, Dv),"
                    + " H % Hkv == 0, S >= T)");
        }
        checkMask(mask, q.dim(0), k.dim(2));
        int b = q.dim(0);
        int t = q.dim(2);
        int kvHeads = k.dim(1);
        int s = k.dim(2);
        int rows = q.dim(1) / kvHeads * t;
        // query head h reads key head h / (H / Hkv): consecutive query heads stack their rows, (B, Hkv, G T, D)
        Tensor scores = Matmul.matmul(q.contiguous().reshape(b, kvHeads, rows, q.dim(3)), k.permute(0, 1, 3, 2));
        Tensor visible = visibleKeys(mask, b, t, s, q.device());
        // NOTE: a finite -1e30, not -inf: a query that sees no key would softmax -inf - -inf into NaN; its uniform
        // probabilities are zeroed by the product with the visible keys instead
        Tensor hidden = Elementwise.scale(Elementwise.addScalar(visible, -1f), 1e30f);
        Tensor logits = Elementwise.add(Elementwise.scale(scores.reshape(b, q.dim(1), t, s), scale), hidden);
        Tensor p = Elementwise.mul(Softmax.softmax(logits), visible);
        return Matmul.matmul(p.reshape(b, kvHeads, rows, s), v).reshape(b, q.dim(1), t, v.dim(3));
    }

    /** (B, 1, T, S): 1 where the mask lets query i (key position S - T + i) see key j, else 0. */
    private static Tensor visibleKeys(AttentionMask mask, int b, int t, int s, Device device) {
        float[] visible = new float[Math.multiplyExact(Math.multiplyExact(b, t), s)];
        for (int row = 0; row < b; row++) {
            for (int i = 0; i < t; i++) {
                int at = (row * t + i) * s;
                for (int j = 0; j < s; j++) {
                    visible[at + j] = mask.allows(row, s - t + i, j) ? 1f : 0f;
                }
            }
        }
        return Tensor.of(device, TensorScope.current(), visible, Shape.of(b, 1, t, s));
    }

    /**
     * d loss / d sink_h = -sum over (b, t) of exp(sink_h - lse) * rowsum(dOut * out): the sink's probability times
     * the softmax backward's (0 - delta), its value being 0. Runs inside the backward, where nothing is recorded.
     */
    private static Tensor sinkGradient(Tensor sinks, Tensor logSumExp, Tensor out, Tensor dOut) {
        Tensor delta = Reductions.sum(Elementwise.mul(dOut, out.to(DType.F32)), 3, false); // (B, H, T)
        Tensor sinkShare = Elementwise.exp(Elementwise.sub(sinks.reshape(1, sinks.dim(0), 1), logSumExp));
        Tensor perHead = Reductions.sum(Reductions.sum(Elementwise.mul(sinkShare, delta), 2, false), 0, false);
        return Elementwise.scale(perHead, -1f);
    }

    /**
     * Storage for the output under {@link Precision#BF16_MIXED}: bf16 (the kernels round once, as
     * {@link Bf16Boundaries#output} would) and token-major, (B, T, H, D), handed out as its (B, H, T, D) view, shaped
     * like {@code q}. A layer that merges the heads back into (B, T, H*D) then reshapes it without a copy, and this
     * op's backward reads the same values.
     */
    private static Tensor tokenMajorBf16(Tensor q) {
        Tensor tokenMajor = Tensor.empty(TensorScope.current(), q.device(), DType.BF16,
                Shape.of(q.dim(0), q.dim(2), q.dim(1), q.dim(3)));
        return tokenMajor.permute(0, 2, 1, 3);
    }

    /** t itself when its positions are contiguous rows (a KV cache's view), else a contiguous copy. */
    private static Tensor rowsContiguous(Tensor t) {
        long[] strides = t.strides();
        return strides[3] == 1 && strides[2] == t.dim(3) ? t : t.contiguous();
    }

    /** Throws unless the mask's per-row arrays, when present, are [batch][keys]. */
    private static void checkMask(AttentionMask mask, int batch, int keys) {
        checkMaskRows("keyValid", mask.keyValid() == null ? -1 : mask.keyValid().length, batch);
        checkMaskRows("segments", mask.segments() == null ? -1 : mask.segments().length, batch);
        for (int b = 0; b < batch; b++) {
            checkMaskRow("keyValid", b, mask.keyValid() == null ? -1 : mask.keyValid()[b].length, keys);
            checkMaskRow("segments", b, mask.segments() == null ? -1 : mask.segments()[b].length, keys);
        }
    }

    private static void checkMaskRows(String name, int rows, int batch) {
        if (rows >= 0 && rows != batch) {
            throw new IllegalArgumentException("attention mask: " + name + " has " + rows + " rows for a batch of " + batch);
        }
    }

    private static void checkMaskRow(String name, int b, int length, int keys) {
        if (length >= 0 && length != keys) {
            throw new IllegalArgumentException("attention mask: " + name + "[" + b + "] has " + length
                    + " entries for " + keys + " key positions (one per key, cached ones included)");
        }
    }
}
