package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Norms;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * RMSNorm with a learned {@code weight} (dim): {@code x / rms(x) * weight}, or Gemma's {@code x / rms(x) *
 * (1 + weight)}, whose checkpoints store the weight's offset from one.
 */
public final class RmsNorm extends Module implements Layer {
    private final float eps;
    private final boolean offsetFromOne;

    /**
     * An RMS norm over the last dimension, weight ones until loaded.
     *
     * @param scope owns the weight's memory
     * @param dim size of the normalised (last) dimension
     * @param eps added to the mean square before the square root
     */
    public RmsNorm(TensorScope scope, int dim, float eps) {
        this(scope, dim, eps, false);
    }

    /**
     * An RMS norm over the last dimension that scales by {@code weight} or, Gemma's, by {@code 1 + weight}; either
     * way the identity scale until loaded.
     *
     * @param scope owns the weight's memory
     * @param dim size of the normalised (last) dimension
     * @param eps added to the mean square before the square root
     * @param offsetFromOne whether the weight is stored as its offset from one (Gemma)
     */
    public RmsNorm(TensorScope scope, int dim, float eps, boolean offsetFromOne) {
        this.eps = eps;
        this.offsetFromOne = offsetFromOne;
        Tensor w = registerParameter("weight", Tensor.zeros(scope, DType.F32, Shape.of(dim)));
        if (!offsetFromOne) {
            w.backend().copy().fill(w, 1f);
        }
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor w = parameter("weight");
        // Gemma adds the one in float32, as here; under BF16_MIXED the norm then reads the sum rounded to bf16
        return Norms.rmsNorm(x, offsetFromOne ? Elementwise.addScalar(w, 1f) : w, eps);
    }
}
