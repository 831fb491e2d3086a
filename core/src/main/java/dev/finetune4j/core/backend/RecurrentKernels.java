package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/**
 * The kernels of linear-attention layers (Qwen3.5's gated DeltaNet, the Mamba-2 layers of Granite 4.0 H): a short
 * causal convolution over time and a gated recurrence whose matrix state replaces a KV cache, either the gated delta
 * rule (Yang, Kautz and Hatamizadeh 2024) or Mamba-2's state-space update (Dao and Gu 2024), which is the same
 * recurrence without the delta. Forward and backward side by side; all tensors contiguous F32 unless a method says
 * otherwise.
 * <p>
 * Packed sequences: every method takes {@code offsets}, (B, T), each token's position within its example (0 at an
 * example's first token), or null when each row is one sequence. A token's convolution then reads no input before its
 * example's first, and the recurrence starts each example from a zero state (its backward passing no gradient across
 * the boundary), so that packed examples compute what each would alone.
 */
public interface RecurrentKernels {

    /**
     * Tokens between two states that {@link #gatedRule} keeps for the backward, which recomputes the states in
     * between: memory for one (Dk, Dv) state per this many tokens, instead of one per token.
     */
    int STATE_INTERVAL = 64;

    /** How a token writes into the state, after the state decays by {@code exp(g_t)}. */
    enum StateUpdate {
        /** The delta rule (gated DeltaNet): {@code S = S + k_t (beta_t (v_t - S^T k_t))^T}. */
        DELTA,
        /** An outer product added (Mamba-2, with beta the time step): {@code S = S + beta_t k_t v_t^T}. */
        ADDITIVE
    }

    /**
     * Depthwise causal convolution over time, followed by SiLU where asked:
     * {@code y[b, t, c] = silu(bias[c] + sum_j w[c, j] * in[b, t + j, c])} for {@code j < K} (the gated DeltaNet's and
     * Mamba-2's; LFM2's without the SiLU), where {@code in} is the {@code K - 1} inputs of {@code past} followed by
     * {@code x}; with {@code offsets}, inputs before the token's example count as zeros.
     *
     * @param x the inputs, (B, T, C)
     * @param past the inputs before {@code x}, (B, K - 1, C), or null for zeros (the start of a sequence); null with
     *             {@code offsets}
     * @param weight the filters, (C, K)
     * @param bias the biases, (C), or null for none
     * @param offsets each token's position within its packed example, (B, T), or null
     * @param silu whether SiLU follows the convolution
     * @param y receives the outputs, (B, T, C)
     */
    void causalConv1d(Tensor x, Tensor past, Tensor weight, Tensor bias, Tensor offsets, boolean silu, Tensor y);

    /**
     * The backward of {@link #causalConv1d} ({@code past} is a constant: it receives no gradient).
     *
     * @param x the forward's inputs, (B, T, C)
     * @param past the forward's past inputs, (B, K - 1, C), or null
     * @param weight the filters, (C, K)
     * @param bias the biases, (C), or null
     * @param offsets the forward's offsets, or null
     * @param silu whether SiLU followed the convolution
     * @param dy the gradient of the outputs, (B, T, C)
     * @param dx receives the gradient of {@code x}, (B, T, C)
     * @param dWeight receives the gradient of the filters, (C, K) (overwritten), or null when they are frozen
     * @param dBias receives the gradient of the biases, (C) (overwritten), or null when there are none or they are
     *              frozen
     */
    void causalConv1dBackward(Tensor x, Tensor past, Tensor weight, Tensor bias, Tensor offsets, boolean silu,
                              Tensor dy, Tensor dx, Tensor dWeight, Tensor dBias);

    /**
     * A gated recurrence for every batch row b and head h, its state S (Dk, Dv) starting at {@code state}; per
     * token t: {@code S = exp(g_t) S}, then {@code update}'s write, then {@code o_t = S^T q_t}; with {@code offsets},
     * S is zero before each example's first token.
     *
     * @param update how each token writes into the state
     * @param q the queries, (B, T, H, Dk)
     * @param k the keys, (B, T, H, Dk)
     * @param v the values, (B, T, H, Dv)
     * @param g the log decays, (B, T, H), at most 0
     * @param beta the write strengths, (B, T, H)
     * @param offsets each token's position within its packed example, (B, T), or null
     * @param state (B, H, Dk, Dv): read as the state before the first token (zeros with {@code offsets}), overwritten
     *              with the state after the last
     * @param o receives the outputs, (B, T, H, Dv)
     * @param checkpoints receives the state before tokens 0, {@link #STATE_INTERVAL}, 2 {@link #STATE_INTERVAL}, ...,
     *                    (B, H, ceil(T / STATE_INTERVAL), Dk, Dv), for the backward; null when none follows
     */
    void gatedRule(StateUpdate update, Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta, Tensor offsets,
                   Tensor state, Tensor o, Tensor checkpoints);

    /**
     * The backward of {@link #gatedRule} from the states it kept (the initial state receives no gradient).
     *
     * @param update the forward's update
     * @param q the forward's queries, (B, T, H, Dk)
     * @param k the forward's keys, (B, T, H, Dk)
     * @param v the forward's values, (B, T, H, Dv)
     * @param g the forward's log decays, (B, T, H)
     * @param beta the forward's write strengths, (B, T, H)
     * @param offsets the forward's offsets, or null
     * @param checkpoints the states the forward kept
     * @param dO the gradient of the outputs, (B, T, H, Dv)
     * @param dq receives the gradient of {@code q}, (B, T, H, Dk)
     * @param dk receives the gradient of {@code k}, (B, T, H, Dk)
     * @param dv receives the gradient of {@code v}, (B, T, H, Dv)
     * @param dg receives the gradient of {@code g}, (B, T, H)
     * @param dBeta receives the gradient of {@code beta}, (B, T, H)
     */
    void gatedRuleBackward(StateUpdate update, Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta, Tensor offsets,
                           Tensor checkpoints, Tensor dO, Tensor dq, Tensor dk, Tensor dv, Tensor dg, Tensor dBeta);
}
