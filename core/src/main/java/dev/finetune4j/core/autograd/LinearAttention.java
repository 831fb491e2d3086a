package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.backend.RecurrentKernels.StateUpdate;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * The two recurrent ops of linear-attention layers (Qwen3.5's gated DeltaNet, Granite 4.0 H's Mamba-2): a short
 * causal convolution over time, and a gated recurrence whose matrix state takes the place of a KV cache. Both compute
 * in float32 (as transformers' own implementations do under bf16) and return float32.
 */
public final class LinearAttention {
    private LinearAttention() {
    }

    /**
     * Depthwise causal convolution over time plus a bias, then SiLU where asked (the gated DeltaNet's and Mamba-2's;
     * not LFM2's): x (B, T, C), weight (C, K) -> (B, T, C), each
     * output reading its own and the K - 1 earlier inputs of its channel; before the first token, {@code past}'s
     * inputs, or zeros; with {@code offsets}, zeros before the token's packed example.
     *
     * @param x the inputs, (B, T, C)
     * @param weight the filters, (C, K)
     * @param bias the biases, (C), or null for none
     * @param past the K - 1 inputs before {@code x} (a generation's conv state), (B, K - 1, C), or null; receives no
     *             gradient
     * @param offsets each token's position within its packed example, (B, T) F32, or null when each row is one
     *                sequence; only without {@code past}
     * @param silu whether SiLU follows the convolution
     * @return silu(conv(x)), or conv(x), (B, T, C)
     */
    public static Tensor causalConv1d(Tensor x, Tensor weight, Tensor bias, Tensor past, Tensor offsets,
                                      boolean silu) {
        if (x.rank() != 3 || weight.rank() != 2 || weight.dim(0) != x.dim(2) || weight.dim(1) < 1) {
            throw new IllegalArgumentException("causal conv1d: x " + x.shape() + " and weight " + weight.shape()
                    + " must be (B, T, C) and (C, K)");
        }
        Shape pastShape = Shape.of(x.dim(0), weight.dim(1) - 1, x.dim(2));
        if (past != null && !past.shape().equals(pastShape)) {
            throw new IllegalArgumentException("causal conv1d: past inputs " + past.shape() + " must be " + pastShape);
        }
        if (bias != null && !bias.shape().equals(Shape.of(x.dim(2)))) {
            throw new IllegalArgumentException("causal conv1d: bias " + bias.shape() + " must be (C) = (" + x.dim(2) + ")");
        }
        requireOffsets("causal conv1d", offsets, x.dim(0), x.dim(1), past, "past inputs");
        Ops.sameDevice(x, weight);
        Tensor xs = f32(x);
        Tensor ws = f32(weight);
        Tensor bs = bias == null ? null : f32(bias);
        Tensor before = past == null ? null : f32(past);
        Tensor y = Tensor.empty(TensorScope.current(), x.device(), DType.F32, x.shape());
        Tensor starts = offsets == null ? null : f32(offsets);
        x.backend().recurrent().causalConv1d(xs, before, ws, bs, starts, silu, y);
        return Autograd.record("causalConv1d", y, dOut -> {
            Tensor dx = Tensor.empty(x.device(), x.shape());
            Tensor dw = weight.requiresGrad() ? Tensor.empty(weight.device(), weight.shape()) : null;
            Tensor db = bias != null && bias.requiresGrad() ? Tensor.empty(bias.device(), bias.shape()) : null;
            x.backend().recurrent().causalConv1dBackward(xs, before, ws, bs, starts, silu, f32(dOut), dx, dw, db);
            return bias == null ? new Tensor[]{dx, dw} : new Tensor[]{dx, dw, db};
        }, bias == null ? new Tensor[]{x, weight} : new Tensor[]{x, weight, bias});
    }

    /**
     * A gated recurrence over each (batch row, head): with state S (Dk, Dv) from {@code state} (zeros when null), per
     * token {@code S = exp(g_t) S}, then the write of {@code update} (the delta rule of Yang, Kautz and Hatamizadeh
     * 2024: {@code S = S + k_t (beta_t (v_t - S^T k_t))^T}; Mamba-2's: {@code S = S + beta_t k_t v_t^T}), then
     * {@code o_t = S^T q_t}; with {@code offsets}, S starts from zeros at each packed example's first token. The
     * backward recomputes the states from one kept every {@link RecurrentKernels#STATE_INTERVAL} tokens.
     *
     * @param update how each token writes into the state
     * @param q the queries, (B, T, H, Dk), normalised and scaled
     * @param k the keys, (B, T, H, Dk), normalised
     * @param v the values, (B, T, H, Dv)
     * @param g the log decays, (B, T, H)
     * @param beta the write strengths, (B, T, H)
     * @param state the state before the first token, (B, H, Dk, Dv) F32, overwritten with the state after the last (a
     *              generation's cache); null to start from zeros and keep nothing. It receives no gradient
     * @param offsets each token's position within its packed example, (B, T) F32, or null when each row is one
     *                sequence; only without {@code state}
     * @return the outputs, (B, T, H, Dv)
     */
    public static Tensor gatedRule(StateUpdate update, Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta,
                                   Tensor state, Tensor offsets) {
        int b = q.dim(0);
        int t = q.dim(1);
        int h = q.dim(2);
        Shape perHead = Shape.of(b, t, h);
        if (q.rank() != 4 || !k.shape().equals(q.shape()) || v.rank() != 4 || v.dim(0) != b || v.dim(1) != t
                || v.dim(2) != h || !g.shape().equals(perHead) || !beta.shape().equals(perHead)) {
            throw new IllegalArgumentException("gated rule: q " + q.shape() + ", k " + k.shape() + ", v " + v.shape()
                    + ", g " + g.shape() + " and beta " + beta.shape() + " must be (B, T, H, Dk) twice, (B, T, H, Dv) "
                    + "and (B, T, H) twice");
        }
        Shape stateShape = Shape.of(b, h, q.dim(3), v.dim(3));
        if (state != null && (!state.shape().equals(stateShape) || state.dtype() != DType.F32 || !state.isContiguous())) {
            throw new IllegalArgumentException("gated rule: the state " + state + " must be a contiguous F32 "
                    + stateShape);
        }
        requireOffsets("gated rule", offsets, b, t, state, "a state");
        Ops.sameDevice(q, k, v, g, beta);
        Tensor[] in = {f32(q), f32(k), f32(v), f32(g), f32(beta)};
        Tensor starts = offsets == null ? null : f32(offsets);
        Tensor s = state != null ? state : Tensor.zeros(TensorScope.current(), q.device(), DType.F32, stateShape);
        boolean backward = Autograd.needsGrad(q, k, v, g, beta);
        int chunks = (t + RecurrentKernels.STATE_INTERVAL - 1) / RecurrentKernels.STATE_INTERVAL;
        Tensor kept = backward ? Tensor.empty(TensorScope.current(), q.device(), DType.F32,
                Shape.of(b, h, chunks, q.dim(3), v.dim(3))) : null;
        Tensor o = Tensor.empty(TensorScope.current(), q.device(), DType.F32, v.shape());
        q.backend().recurrent().gatedRule(update, in[0], in[1], in[2], in[3], in[4], starts, s, o, kept);
        return Autograd.record("gatedRule", o, dOut -> {
            Tensor[] grads = {Tensor.empty(q.device(), q.shape()), Tensor.empty(q.device(), q.shape()),
                    Tensor.empty(q.device(), v.shape()), Tensor.empty(q.device(), perHead),
                    Tensor.empty(q.device(), perHead)};
            q.backend().recurrent().gatedRuleBackward(update, in[0], in[1], in[2], in[3], in[4], starts, kept,
                    f32(dOut), grads[0], grads[1], grads[2], grads[3], grads[4]);
            return grads;
        }, q, k, v, g, beta);
    }

    /**
     * Refuses offsets of another shape than (B, T), or beside what a generation carries into the call ({@code carried}):
     * packed examples start from nothing.
     */
    private static void requireOffsets(String op, Tensor offsets, int b, int t, Tensor carried, String what) {
        if (offsets == null) {
            return;
        }
        if (!offsets.shape().equals(Shape.of(b, t))) {
            throw new IllegalArgumentException(op + ": offsets " + offsets.shape() + " must be (B, T) = (" + b + ", " + t
                    + "), one per token");
        }
        if (carried != null) {
            throw new IllegalArgumentException(op + ": packed examples (offsets) start from nothing, so " + what
                    + " cannot come with them; pack training examples, not a generation's steps");
        }
    }

    /** {@code t}'s values as a contiguous float32 tensor, unrecorded: {@code t} itself when it is one. */
    private static Tensor f32(Tensor t) {
        Tensor d = t.detach();
        return (d.dtype() == DType.F32 ? d : d.to(DType.F32)).contiguous();
    }
}
