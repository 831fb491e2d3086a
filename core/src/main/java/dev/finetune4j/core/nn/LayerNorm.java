package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.Norms;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** LayerNorm with learned {@code weight} (ones) and, unless left out, {@code bias} (zeros). */
public final class LayerNorm extends Module implements Layer {
    private final float eps;
    private final boolean bias;

    /**
     * A layer norm over the last dimension, weight ones and bias zeros until loaded.
     *
     * @param scope owns the parameters' memory
     * @param dim size of the normalised (last) dimension
     * @param eps added to the variance before the square root
     */
    public LayerNorm(TensorScope scope, int dim, float eps) {
        this(scope, dim, eps, true);
    }

    /**
     * A layer norm over the last dimension, with or without a bias (Cohere's has none), weight ones and bias zeros
     * until loaded.
     *
     * @param scope owns the parameters' memory
     * @param dim size of the normalised (last) dimension
     * @param eps added to the variance before the square root
     * @param bias whether the norm adds a learned bias
     */
    public LayerNorm(TensorScope scope, int dim, float eps, boolean bias) {
        this.eps = eps;
        this.bias = bias;
        Tensor w = registerParameter("weight", Tensor.zeros(scope, DType.F32, Shape.of(dim)));
        if (bias) {
            registerParameter("bias", Tensor.zeros(scope, DType.F32, Shape.of(dim)));
        }
        w.backend().copy().fill(w, 1f);
    }

    @Override
    public Tensor forward(Tensor x) {
        return Norms.layerNorm(x, parameter("weight"), bias ? parameter("bias") : null, eps);
    }
}
