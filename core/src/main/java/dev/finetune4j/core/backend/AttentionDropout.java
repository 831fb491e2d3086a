package dev.finetune4j.core.backend;

/**
 * Dropout on the attention probabilities, as transformers applies it in training ({@code nn.functional.dropout} over
 * the (B, H, T, S) weights right after the softmax): the probability of query i of head h of batch row b for key j
 * is zeroed when {@link Philox#uniform(DropoutKey, long)} at index {@code ((b * H + h) * T + i) * S + j} is below
 * {@code p}, and the others are multiplied by {@link #keepScale()}. The softmax's denominator, and so the forward's
 * log-sum-exp, are those before dropout; the backward redraws the same mask from the key.
 *
 * @param p the probability of dropping a weight, in (0, 1)
 * @param key what the mask is drawn from
 */
public record AttentionDropout(float p, DropoutKey key) {

    /** Checks p and the key. */
    public AttentionDropout {
        if (!(p > 0 && p < 1)) {
            throw new IllegalArgumentException("attention dropout probability must be in (0, 1), got " + p);
        }
        if (key == null) {
            throw new IllegalArgumentException("attention dropout needs a key to draw its mask from");
        }
    }

    /**
     * The factor a kept weight is multiplied by, {@code 1 / (1 - p)} rounded to float32 once (as
     * {@link DropoutKernels#apply} scales).
     *
     * @return the scale of kept weights
     */
    public float keepScale() {
        return 1f / (1f - p);
    }
}
