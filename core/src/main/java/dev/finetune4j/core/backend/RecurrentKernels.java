package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/**
 * The kernels of linear-attention layers (Qwen3.5's gated DeltaNet): a short causal convolution over time and the
 * gated delta rule (Yang, Kautz and Hatamizadeh 2024), whose state replaces a KV cache. Forward and backward side by
 * side; all tensors contiguous F32 unless a method says otherwise.
 */
public interface RecurrentKernels {

    /**
     * Tokens between two states that {@link #gatedDeltaRule} keeps for the backward, which recomputes the states in
     * between: memory for one (Dk, Dv) state per this many tokens, instead of one per token.
     */
    int STATE_INTERVAL = 64;

    /**
     * Depthwise causal convolution over time followed by SiLU:
     * {@code y[b, t, c] = silu(sum_j w[c, j] * in[b, t + j, c])} for {@code j < K}, where {@code in} is the
     * {@code K - 1} inputs of {@code past} followed by {@code x}.
     *
     * @param x the inputs, (B, T, C)
     * @param past the inputs before {@code x}, (B, K - 1, C), or null for zeros (the start of a sequence)
     * @param weight the filters, (C, K)
     * @param y receives the outputs, (B, T, C)
     */
    void causalConv1dSilu(Tensor x, Tensor past, Tensor weight, Tensor y);

    /**
     * The backward of {@link #causalConv1dSilu} ({@code past} is a constant: it receives no gradient).
     *
     * @param x the forward's inputs, (B, T, C)
     * @param past the forward's past inputs, (B, K - 1, C), or null
     * @param weight the filters, (C, K)
     * @param dy the gradient of the outputs, (B, T, C)
     * @param dx receives the gradient of {@code x}, (B, T, C)
     * @param dWeight receives the gradient of the filters, (C, K) (overwritten), or null when they are frozen
     */
    void causalConv1dSiluBackward(Tensor x, Tensor past, Tensor weight, Tensor dy, Tensor dx, Tensor dWeight);

    /**
     * The gated delta rule for every batch row b and head h, its state S (Dk, Dv) starting at {@code state}; per
     * token t: {@code S = exp(g_t) S; S = S + k_t (beta_t (v_t - S^T k_t))^T; o_t = S^T q_t}.
     *
     * @param q the queries, (B, T, H, Dk)
     * @param k the keys, (B, T, H, Dk)
     * @param v the values, (B, T, H, Dv)
     * @param g the log decays, (B, T, H), at most 0
     * @param beta the write strengths, (B, T, H)
     * @param state (B, H, Dk, Dv): read as the state before the first token, overwritten with the state after the last
     * @param o receives the outputs, (B, T, H, Dv)
     * @param checkpoints receives the state before tokens 0, {@link #STATE_INTERVAL}, 2 {@link #STATE_INTERVAL}, ...,
     *                    (B, H, ceil(T / STATE_INTERVAL), Dk, Dv), for the backward; null when none follows
     */
    void gatedDeltaRule(Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta, Tensor state, Tensor o, Tensor checkpoints);

    /**
     * The backward of {@link #gatedDeltaRule} from the states it kept (the initial state receives no gradient).
     *
     * @param q the forward's queries, (B, T, H, Dk)
     * @param k the forward's keys, (B, T, H, Dk)
     * @param v the forward's values, (B, T, H, Dv)
     * @param g the forward's log decays, (B, T, H)
     * @param beta the forward's write strengths, (B, T, H)
     * @param checkpoints the states the forward kept
     * @param dO the gradient of the outputs, (B, T, H, Dv)
     * @param dq receives the gradient of {@code q}, (B, T, H, Dk)
     * @param dk receives the gradient of {@code k}, (B, T, H, Dk)
     * @param dv receives the gradient of {@code v}, (B, T, H, Dv)
     * @param dg receives the gradient of {@code g}, (B, T, H)
     * @param dBeta receives the gradient of {@code beta}, (B, T, H)
     */
    void gatedDeltaRuleBackward(Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta, Tensor checkpoints, Tensor dO,
                                Tensor dq, Tensor dk, Tensor dv, Tensor dg, Tensor dBeta);
}
