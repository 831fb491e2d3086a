package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/**
 * RMSNorm and LayerNorm over the last dimension C, statistics in double on the CPU as PyTorch's float32 kernels.
 * x, y, dy, dx: (..., C) contiguous; w, b, dw, db: (C); per-row statistics: (rows).
 */
public interface NormKernels {

    /**
     * {@code y = x / sqrt(mean(x^2) + eps) * w}; {@code rstd} receives each row's {@code 1 / sqrt(mean(x^2) + eps)}.
     * {@code y} may be BF16 (an activation under BF16_MIXED): each value is computed in float32 and rounded once.
     *
     * @param x the input, (..., C)
     * @param w the weight, (C)
     * @param eps added to the mean square
     * @param y receives the output, same shape as {@code x}, contiguous F32 or BF16
     * @param rstd receives the rows' reciprocal RMS
     */
    void rmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd);

    /**
     * (forward: {@link #rmsNorm}) {@code dx}, and {@code dw} unless it is null (a frozen norm). With
     * {@code accumulate} the gradient of x is added into {@code dx}'s values (the gradient a residual stream has
     * gathered from its other use), each sum rounded once to float32 as a separate add would.
     *
     * @param dy the gradient of the output
     * @param x the forward's input
     * @param w the forward's weight
     * @param rstd the forward's reciprocal RMS
     * @param dx receives the gradient of {@code x}, or has it added
     * @param accumulate whether to add into {@code dx} instead of overwriting it
     * @param dw receives the gradient of {@code w}, or null
     */
    void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, Tensor dx, boolean accumulate, Tensor dw);

    /**
     * {@code y = (x - mean) * rstd * w + b} with the biased variance; {@code mean}, {@code rstd} receive the row
     * statistics.
     *
     * @param x the input, (..., C)
     * @param w the weight, (C)
     * @param b the bias, (C), or null for none
     * @param eps added to the variance
     * @param y receives the output, same shape as {@code x}
     * @param mean receives the rows' means
     * @param rstd receives the rows' reciprocal standard deviations
     */
    void layerNorm(Tensor x, Tensor w, Tensor b, float eps, Tensor y, Tensor mean, Tensor rstd);

    /**
     * (forward: {@link #layerNorm}) {@code dx}, and {@code dw}, {@code db} unless null; {@code accumulate} as for
     * {@link #rmsNormBackward}.
     *
     * @param dy the gradient of the output
     * @param x the forward's input
     * @param w the forward's weight
     * @param mean the forward's row means
     * @param rstd the forward's reciprocal standard deviations
     * @param dx receives the gradient of {@code x}, or has it added
     * @param accumulate whether to add into {@code dx} instead of overwriting it
     * @param dw receives the gradient of {@code w}, or null
     * @param db receives the gradient of {@code b}, or null
     */
    void layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dx, boolean accumulate,
                           Tensor dw, Tensor db);
}
