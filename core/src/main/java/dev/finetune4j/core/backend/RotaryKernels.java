package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/**
 * Rotary position embedding (Su et al. 2021): the pairs of a {@link RotaryLayout} ((x[i], x[i + R/2]) in Hugging
 * Face's "rotate half", (x[2i], x[2i + 1]) interleaved) are rotated by the angle whose scaled cosine and sine the
 * tables hold, where R, the rotated dimensions, is twice the tables' width: D for most models, less with a partial
 * rotary factor (Phi-3.5, Phi-4-mini and GLM rotate the first R of D dimensions and pass the rest through unchanged).
 */
public interface RotaryKernels {

    /**
     * {@code y1 = x1 cos - x2 sin, y2 = x2 cos + x1 sin} for each pair (x1, x2) of {@code layout}, or with
     * {@code -sin} when {@code inverse} (the backward).
     * x: (B, H, T, D) in any layout and floating dtype (the decoder hands over a transposed view of its (B, T, H, D)
     * projections); y: (B, H, T, D) in any layout, F32 or BF16 (computed in float32, rounded once; the backward's
     * gradient is written in the projections' token-major order); cos, sin: (B, T, R/2) contiguous F32, R even and at most
     * D; dimensions R to D are copied.
     *
     * @param x the input
     * @param cos the cosines
     * @param sin the sines
     * @param layout which dimensions pair up
     * @param inverse whether to rotate backwards
     * @param y receives the result
     */
    void rotate(Tensor x, Tensor cos, Tensor sin, RotaryLayout layout, boolean inverse, Tensor y);
}
