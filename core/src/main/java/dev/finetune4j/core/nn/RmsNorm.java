package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.Norms;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** RMSNorm with a learned {@code weight} (dim), initialised to ones. */
public final class RmsNorm extends Module implements Layer {
    private final float eps;

    /**
     * An RMS norm over the last dimension, weight ones until loaded.
     *
     * @param scope owns the weight's memory
     * @param dim size of the normalised (last) dimension
     * @param eps added to the mean square before the square root
     */
    public RmsNorm(TensorScope scope, int dim, float eps) {
        this.eps = eps;
        Tensor w = registerParameter("weight", Tensor.zeros(scope, DType.F32, Shape.of(dim)));
        w.backend().copy().fill(w, 1f);
    }

    @Override
    public Tensor forward(Tensor x) {
        return Norms.rmsNorm(x, parameter("weight"), eps);
    }
}
