package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Norms;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Arrays;

/**
 * RMSNorm over groups of the last dimension with one {@code weight} (dim) across them: the last dimension is cut
 * into {@code groups} equal parts, each normalised by its own root mean square, then the whole times the weight (the
 * Mamba-2 gated norm of mamba_ssm and of transformers' Falcon-H1, {@code norm.weight} of size {@code dim}). With one
 * group it is {@link RmsNorm}. Computed as the RMSNorm of unit weight over (..., groups, dim / groups) (made on the
 * input's device for each call: dim / groups values), times the weight.
 */
public final class GroupedRmsNorm extends Module implements Layer {
    private final int groups;
    private final float eps;

    /**
     * An RMS norm of {@code groups} groups, weight ones until loaded.
     *
     * @param scope owns the weight
     * @param dim the normalised (last) dimension, a multiple of {@code groups}
     * @param groups the parts normalised separately
     * @param eps added to each mean square before the square root
     */
    public GroupedRmsNorm(TensorScope scope, int dim, int groups, float eps) {
        if (groups < 1 || dim % groups != 0) {
            throw new IllegalArgumentException("a grouped RMSNorm over " + dim + " values cannot make " + groups
                    + " equal groups");
        }
        this.groups = groups;
        this.eps = eps;
        Tensor w = registerParameter("weight", Tensor.zeros(scope, DType.F32, Shape.of(dim)));
        w.backend().copy().fill(w, 1f);
    }

    /** x: (..., dim) -> (..., dim). */
    @Override
    public Tensor forward(Tensor x) {
        Tensor w = parameter("weight");
        if (groups == 1) {
            return Norms.rmsNorm(x, w, eps);
        }
        int dim = w.dim(0);
        int[] grouped = Arrays.copyOf(x.shape().dims(), x.rank() + 1);
        grouped[x.rank() - 1] = groups;
        grouped[x.rank()] = dim / groups;
        Tensor unit = Tensor.empty(x.device(), Shape.of(dim / groups));
        unit.backend().copy().fill(unit, 1f);
        return Elementwise.mul(Norms.rmsNorm(x.reshape(grouped), unit, eps).reshape(x.shape().dims()), w);
    }
}
