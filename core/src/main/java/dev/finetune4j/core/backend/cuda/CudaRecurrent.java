package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

/**
 * Linear attention's kernels (recurrent.cu). The causal convolution + SiLU is elementwise over (B, T, C), its filter
 * and bias gradients a block per tap (the bias as one more) and {@value #CHANNELS_PER_BLOCK} channels. The gated
 * recurrence (the delta rule, or Mamba-2's additive update) runs one block per (batch row, head, slice of
 * {@value #COLUMNS} state columns): the columns of a state evolve independently given the keys, decays and write
 * strengths, so a block holds its slice of the state in registers and walks the tokens in order without talking to
 * another block; key dimensions up to {@value #MAX_KEY_DIM}. Nothing is summed with atomics, so
 * every run gives the same bits. Operands that are not contiguous F32 are converted first; outputs must be.
 * <p>
 * Device memory besides the tensors: the convolution's backward takes a (B, T, C) float buffer, the gradient before
 * the SiLU. The recurrence's backward runs one chunk of {@value RecurrentKernels#STATE_INTERVAL} tokens (what a kept
 * state covers) a launch, the last first, for every (b, h) at once, and holds for the whole call: the chunk's
 * recomputed states, B H min(T, {@value RecurrentKernels#STATE_INTERVAL}) Dk' Dv' floats with Dk rounded up to
 * {@value #PARTS} and Dv to {@value #COLUMNS} (1 GiB at B H = 256, Dk = Dv = 128: a chunk's states are as large as the
 * states the forward keeps for 4,096 tokens); the state's gradient carried from chunk to chunk, B H Dk' Dv' floats;
 * and each column slice's share of dq, dk, dg and dbeta, 2 B H ceil(Dv / {@value #COLUMNS})
 * {@value RecurrentKernels#STATE_INTERVAL} (Dk + 1) doubles, which a second kernel adds up in a fixed order.
 */
final class CudaRecurrent implements RecurrentKernels {
    private static final String FAMILY = "recurrent";
    /** State columns a block of the recurrence takes (RULE_COLS of recurrent.cu). */
    static final int COLUMNS = 32;
    /** Threads that share a state column, each keeping every {@value}th row (RULE_PARTS of recurrent.cu). */
    static final int PARTS = 8;
    /** The largest key dimension: {@value #PARTS} threads of 32 rows (RULE_MAX_ROWS of recurrent.cu) a column. */
    static final int MAX_KEY_DIM = PARTS * 32;
    /** Channels a block of the filter gradient sums over (B, T): one per lane of a warp. */
    static final int CHANNELS_PER_BLOCK = 32;
    /** Warps of a block of the recurrence's kernels (RULE_WARPS of recurrent.cu). */
    private static final int WARPS = COLUMNS * PARTS / 32;

    private final CudaRuntime rt;

    CudaRecurrent(CudaRuntime rt) {
        if (CudaKernels.BLOCK != COLUMNS * PARTS) {
            throw new IllegalStateException("the recurrence's kernels are written for blocks of " + COLUMNS * PARTS
                    + " threads, kernels launch " + CudaKernels.BLOCK);
        }
        this.rt = rt;
    }

    @Override
    public void causalConv1d(Tensor x, Tensor past, Tensor weight, Tensor bias, Tensor offsets, boolean silu,
                             Tensor y) {
        Conv conv = Conv.of(x, past, weight, bias, offsets);
        requireShape("causal conv1d", "y", "(B, T, C)", y, x.shape());
        try (Scratch s = rt.scratch(); KernelArgs a = new KernelArgs()) {
            a.ptr(s.f32(x)).ptr(s.f32OrNull(past)).ptr(s.f32(weight)).ptr(s.f32OrNull(bias)).ptr(s.f32OrNull(offsets))
                    .ptr(rt.output(y));
            conv.dims(a);
            a.i32(silu ? 1 : 0);
            rt.kernels.launchOver(FAMILY, "causal_conv1d_forward", x.numel(), a);
        }
    }

    @Override
    public void causalConv1dBackward(Tensor x, Tensor past, Tensor weight, Tensor bias, Tensor offsets, boolean silu,
                                     Tensor dy, Tensor dx, Tensor dWeight, Tensor dBias) {
        Conv conv = Conv.of(x, past, weight, bias, offsets);
        requireShape("causal conv1d backward", "dy", "(B, T, C)", dy, x.shape());
        requireShape("causal conv1d backward", "dx", "(B, T, C)", dx, x.shape());
        if (dWeight != null) {
            requireShape("causal conv1d backward", "dWeight", "(C, K)", dWeight, weight.shape());
        }
        if (dBias != null) {
            requireShape("causal conv1d backward", "dBias", "(C)", dBias, Shape.of(x.dim(2)));
        }
        try (Scratch s = rt.scratch()) {
            long xs = s.f32(x);
            long before = s.f32OrNull(past);
            long w = s.f32(weight);
            long starts = s.f32OrNull(offsets);
            long upstream = s.f32(dy);
            long dPre = silu ? s.buffer(x.numel() * Float.BYTES) : upstream; // without the SiLU, dy is dpre
            if (silu) {
                try (KernelArgs a = new KernelArgs()) {
                    a.ptr(xs).ptr(before).ptr(w).ptr(s.f32OrNull(bias)).ptr(starts).ptr(upstream).ptr(dPre);
                    conv.dims(a);
                    rt.kernels.launchOver(FAMILY, "causal_conv1d_silu_backward_pre", x.numel(), a);
                }
            }
            try (KernelArgs a = new KernelArgs()) {
                a.ptr(dPre).ptr(w).ptr(starts).ptr(rt.output(dx));
                conv.dims(a);
                rt.kernels.launchOver(FAMILY, "causal_conv1d_backward_input", x.numel(), a);
            }
            // the filters' taps, then the bias as one more tap whose input is 1
            long taps = (dWeight == null ? 0 : conv.taps) + (dBias == null ? 0 : 1);
            if (taps > 0) {
                try (KernelArgs a = new KernelArgs()) {
                    a.ptr(dPre).ptr(xs).ptr(before).ptr(starts).ptr(rt.outputOrNull(dWeight))
                            .ptr(rt.outputOrNull(dBias));
                    conv.dims(a);
                    a.i64(taps);
                    long groups = (conv.channels + CHANNELS_PER_BLOCK - 1) / CHANNELS_PER_BLOCK;
                    rt.kernels.launch(FAMILY, "causal_conv1d_backward_weight", taps * groups, 0, a);
                }
            }
        }
    }

    /**
     * The convolution's sizes, checked: x (B, T, C), past (B, K - 1, C) or null, weight (C, K), bias (C) or null,
     * offsets (B, T) or null.
     */
    private record Conv(long batch, long tokens, long channels, long taps) {
        static Conv of(Tensor x, Tensor past, Tensor weight, Tensor bias, Tensor offsets) {
            if (x.rank() != 3 || weight.rank() != 2 || weight.dim(0) != x.dim(2) || weight.dim(1) < 1) {
                throw new IllegalArgumentException("causal conv1d: x " + x.shape() + " and weight " + weight.shape()
                        + " must be (B, T, C) and (C, K) with K >= 1");
            }
            if (past != null) {
                requireShape("causal conv1d", "past", "(B, K - 1, C)", past,
                        Shape.of(x.dim(0), weight.dim(1) - 1, x.dim(2)));
            }
            if (bias != null) {
                requireShape("causal conv1d", "bias", "(C)", bias, Shape.of(x.dim(2)));
            }
            if (offsets != null) {
                requireShape("causal conv1d", "offsets", "(B, T)", offsets, Shape.of(x.dim(0), x.dim(1)));
            }
            return new Conv(x.dim(0), x.dim(1), x.dim(2), weight.dim(1));
        }

        /** The kernels' trailing {@code B, T, C, K}. */
        void dims(KernelArgs a) {
            a.i64(batch).i64(tokens).i64(channels).i64(taps);
        }
    }

    @Override
    public void gatedRule(StateUpdate update, Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta, Tensor offsets,
                          Tensor state, Tensor o, Tensor checkpoints) {
        Rule rule = Rule.of("gated rule", q, k, v, g, beta, offsets);
        requireShape("gated rule", "state", "(B, H, Dk, Dv)", state, rule.stateShape());
        requireShape("gated rule", "o", "(B, T, H, Dv)", o, v.shape());
        if (checkpoints != null) {
            requireShape("gated rule", "checkpoints", "(B, H, ceil(T / " + STATE_INTERVAL + "), Dk, Dv)",
                    checkpoints, rule.checkpointShape());
        }
        try (Scratch s = rt.scratch(); KernelArgs a = new KernelArgs()) {
            a.ptr(s.f32(q)).ptr(s.f32(k)).ptr(s.f32(v)).ptr(s.f32(g)).ptr(s.f32(beta)).ptr(s.f32OrNull(offsets))
                    .ptr(rt.output(state)).ptr(rt.output(o)).ptr(rt.outputOrNull(checkpoints));
            rule.dims(a);
            a.i32(delta(update));
            rt.kernels.launch(FAMILY, "gated_rule_forward", rule.blocks(), 0, a);
        }
    }

    @Override
    public void gatedRuleBackward(StateUpdate update, Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta,
                                  Tensor offsets, Tensor checkpoints, Tensor dO, Tensor dq, Tensor dk, Tensor dv,
                                  Tensor dg, Tensor dBeta) {
        String op = "gated rule backward";
        Rule rule = Rule.of(op, q, k, v, g, beta, offsets);
        requireShape(op, "checkpoints", "(B, H, ceil(T / " + STATE_INTERVAL + "), Dk, Dv)", checkpoints,
                rule.checkpointShape());
        requireShape(op, "dO", "(B, T, H, Dv)", dO, v.shape());
        requireShape(op, "dq", "(B, T, H, Dk)", dq, q.shape());
        requireShape(op, "dk", "(B, T, H, Dk)", dk, q.shape());
        requireShape(op, "dv", "(B, T, H, Dv)", dv, v.shape());
        requireShape(op, "dg", "(B, T, H)", dg, g.shape());
        requireShape(op, "dBeta", "(B, T, H)", dBeta, g.shape());
        long pairs = rule.batch * rule.heads;
        long rows = (rule.keyDim + PARTS - 1) / PARTS;
        long window = Math.min(rule.tokens, STATE_INTERVAL);
        long sliceTokens = rule.slices() * pairs * STATE_INTERVAL;
        try (Scratch s = rt.scratch()) {
            long qs = s.f32(q);
            long ks = s.f32(k);
            long vs = s.f32(v);
            long gs = s.f32(g);
            long betas = s.f32(beta);
            long starts = s.f32OrNull(offsets);
            long kept = s.f32(checkpoints);
            long upstream = s.f32(dO);
            long states = s.buffer(rule.blocks() * window * rows * CudaKernels.BLOCK * Float.BYTES);
            long carry = s.buffer(rule.blocks() * rows * CudaKernels.BLOCK * Float.BYTES);
            long partQ = s.buffer(sliceTokens * rule.keyDim * Double.BYTES);
            long partK = s.buffer(sliceTokens * rule.keyDim * Double.BYTES);
            long partG = s.buffer(sliceTokens * Double.BYTES);
            long partB = s.buffer(sliceTokens * Double.BYTES);
            int shared = Math.toIntExact(2L * WARPS * rule.keyDim * Double.BYTES
                    + (long) STATE_INTERVAL * COLUMNS * Float.BYTES);
            for (long chunk = rule.chunks() - 1; chunk >= 0; chunk--) {
                try (KernelArgs a = new KernelArgs()) {
                    a.ptr(qs).ptr(ks).ptr(vs).ptr(gs).ptr(betas).ptr(starts).ptr(kept).ptr(upstream)
                            .ptr(rt.output(dv)).ptr(states).ptr(carry).ptr(partQ).ptr(partK).ptr(partG).ptr(partB);
                    rule.dims(a);
                    a.i32(delta(update)).i64(chunk).i32(chunk < rule.chunks() - 1 ? 1 : 0);
                    rt.kernels.launch(FAMILY, "gated_rule_backward_chunk", rule.blocks(), shared, a);
                }
                try (KernelArgs a = new KernelArgs()) {
                    a.ptr(partQ).ptr(partK).ptr(partG).ptr(partB).ptr(rt.output(dq)).ptr(rt.output(dk))
                            .ptr(rt.output(dg)).ptr(rt.output(dBeta)).i64(rule.batch).i64(rule.tokens)
                            .i64(rule.heads).i64(rule.keyDim).i64(rule.slices()).i64(chunk);
                    long tokens = Math.min(rule.tokens - chunk * STATE_INTERVAL, STATE_INTERVAL);
                    rt.kernels.launchOver(FAMILY, "gated_rule_backward_sum", pairs * tokens * rule.keyDim, a);
                }
            }
        }
    }

    /** The kernels' {@code delta_rule} flag: 1 for the delta rule, 0 for the additive update. */
    private static int delta(StateUpdate update) {
        return update == StateUpdate.DELTA ? 1 : 0;
    }

    /** The recurrence's sizes, checked: q, k (B, T, H, Dk), v (B, T, H, Dv), g, beta (B, T, H), offsets (B, T). */
    private record Rule(long batch, long tokens, long heads, long keyDim, long valueDim) {
        static Rule of(String op, Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta, Tensor offsets) {
            if (q.rank() != 4 || v.rank() != 4) {
                throw new IllegalArgumentException(op + ": q " + q.shape() + " and v " + v.shape()
                        + " must be (B, T, H, Dk) and (B, T, H, Dv)");
            }
            requireShape(op, "k", "(B, T, H, Dk)", k, q.shape());
            Shape perHead = Shape.of(q.dim(0), q.dim(1), q.dim(2));
            requireShape(op, "v", "(B, T, H, Dv)", v, Shape.of(q.dim(0), q.dim(1), q.dim(2), v.dim(3)));
            requireShape(op, "g", "(B, T, H)", g, perHead);
            requireShape(op, "beta", "(B, T, H)", beta, perHead);
            if (offsets != null) {
                requireShape(op, "offsets", "(B, T)", offsets, Shape.of(q.dim(0), q.dim(1)));
            }
            if (q.dim(3) > MAX_KEY_DIM) {
                throw new IllegalArgumentException(op + ": the CUDA kernels take key dimensions up to " + MAX_KEY_DIM
                        + " (a state column's rows in one block's registers), got Dk = " + q.dim(3)
                        + "; run this layer on the CPU backend");
            }
            return new Rule(q.dim(0), q.dim(1), q.dim(2), q.dim(3), v.dim(3));
        }

        Shape stateShape() {
            return Shape.of(new long[]{batch, heads, keyDim, valueDim});
        }

        long chunks() {
            return (tokens + STATE_INTERVAL - 1) / STATE_INTERVAL;
        }

        Shape checkpointShape() {
            return Shape.of(new long[]{batch, heads, chunks(), keyDim, valueDim});
        }

        /** Column slices of a state: blocks per (b, h). */
        long slices() {
            return (valueDim + COLUMNS - 1) / COLUMNS;
        }

        long blocks() {
            return batch * heads * slices();
        }

        /** The kernels' trailing {@code B, T, H, Dk, Dv}. */
        void dims(KernelArgs a) {
            a.i64(batch).i64(tokens).i64(heads).i64(keyDim).i64(valueDim);
        }
    }

    /**
     * Refuses {@code t} unless its shape is {@code expected}, the {@code layout} of the contract of
     * {@link RecurrentKernels}.
     */
    private static void requireShape(String op, String name, String layout, Tensor t, Shape expected) {
        if (!t.shape().equals(expected)) {
            throw new IllegalArgumentException(op + ": " + name + " must be " + layout + " = " + expected + ", got "
                    + t.shape() + "; shape it as RecurrentKernels documents");
        }
    }
}
