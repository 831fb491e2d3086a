package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Norms;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * A LayerNorm without a bias over the last dimension of (..., heads, dim) whose {@code weight} is (heads, dim): one
 * weight row per head (Command R+'s {@code q_norm} and {@code k_norm}, transformers' {@code CohereLayerNorm} of a
 * tuple size). Computed as the LayerNorm with unit weight (made on the input's device for each call: dim values),
 * times the weight broadcast over the leading dimensions.
 */
public final class HeadwiseLayerNorm extends Module implements Layer {
    private final float eps;

    /**
     * A per-head LayerNorm, weight ones until loaded.
     *
     * @param scope owns the weight
     * @param heads the heads, each with its own weight row
     * @param dim the normalised (last) dimension
     * @param eps added to the variance before the square root
     */
    public HeadwiseLayerNorm(TensorScope scope, int heads, int dim, float eps) {
        this.eps = eps;
        Tensor w = registerParameter("weight", Tensor.zeros(scope, DType.F32, Shape.of(heads, dim)));
        w.backend().copy().fill(w, 1f);
    }

    /** x: (..., heads, dim) -> (..., heads, dim). */
    @Override
    public Tensor forward(Tensor x) {
        Tensor w = parameter("weight");
        if (x.rank() < 2 || x.dim(x.rank() - 2) != w.dim(0) || x.dim(x.rank() - 1) != w.dim(1)) {
            throw new IllegalArgumentException("per-head LayerNorm of weight " + w.shape() + " cannot normalise "
                    + x.shape() + ": the input must end in (heads, dim)");
        }
        Tensor unit = Tensor.empty(x.device(), Shape.of(w.dim(1)));
        unit.backend().copy().fill(unit, 1f);
        return Elementwise.mul(Norms.layerNorm(x, unit, null, eps), w);
    }
}
