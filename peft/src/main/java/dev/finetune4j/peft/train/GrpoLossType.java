package dev.finetune4j.peft.train;

/**
 * How GRPO's per-token losses {@code l(i, t)} of a step's completions are averaged into the step's loss, under TRL's
 * {@code loss_type} names; {@code m(i, t)} is 1 on a completion token that takes part (0 after the first EOS, on
 * padding, and on a truncated completion under {@code mask_truncated_completions}).
 */
public enum GrpoLossType {
    /**
     * {@code "grpo"} (Shao et al. 2024): each completion's mean over its own tokens, {@code Σt l m / max(1, Σt m)},
     * then the mean over the step's completions. Biased towards short completions with positive advantages.
     */
    GRPO,
    /**
     * {@code "bnpo"}: per micro-batch, {@code Σ l m / max(1, Σ m)} over its tokens, then the mean over the step's
     * micro-batches (weighted by their completions, equal to TRL's plain mean when they have one size).
     */
    BNPO,
    /**
     * {@code "dr_grpo"} (Liu et al. 2025, Dr. GRPO): {@code Σ l m / (completions x max_completion_length)} over the
     * step: a constant denominator, no length bias.
     */
    DR_GRPO,
    /**
     * {@code "dapo"} (Yu et al. 2025; TRL's default): {@code Σ l m / max(1, Σ m)} over all tokens of the step (TRL's
     * {@code num_items_in_batch}, the tokens of the whole generation batch), no length bias.
     */
    DAPO
}
