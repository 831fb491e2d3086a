package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/**
 * RMSNorm and LayerNorm over the last dimension C, statistics in double on the CPU as PyTorch's float32 kernels.
 * x, y, dy, dx: (..., C) contiguous; w, b, dw, db: (C); per-row statistics: (rows).
 */
public interface NormKernels {

    /** {@code y = x / sqrt(mean(x^2) + eps) * w}; {@code rstd} receives each row's {@code 1 / sqrt(mean(x^2) + eps)}. */
    void rmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd);

    /** (forward: {@link #rmsNorm}) {@code dx}, and {@code dw} unless it is null (a frozen norm). */
    void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, Tensor dx, Tensor dw);

    /** {@code y = (x - mean) * rstd * w + b} with the biased variance; {@code mean}, {@code rstd} receive the row statistics. */
    void layerNorm(Tensor x, Tensor w, Tensor b, float eps, Tensor y, Tensor mean, Tensor rstd);

    /** (forward: {@link #layerNorm}) {@code dx}, and {@code dw}, {@code db} unless null. */
    void layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dx, Tensor dw, Tensor db);
}
