package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Global-norm gradient clipping as {@code torch.nn.utils.clip_grad_norm_} (L2), in float32 like torch. The
 * per-tensor norms and the scaling run on the gradients' devices; only the per-tensor norms come to the host.
 *
 * <pre>{@code
 * double norm = GradientClipping.clipGlobalNorm(trainable.values(), 1.0);   // log it: spikes show instability
 * }</pre>
 *
 * <p>Not thread-safe with respect to the gradients it scales.
 */
public final class GradientClipping {

    private GradientClipping() {
    }

    /**
     * The L2 norm over all gradients as a float32 value: each tensor's norm is summed in double and rounded to
     * float32 (on the CPU; see {@code ReductionKernels.norm} for other devices), then the norm of those norms
     * likewise, as torch stacks per-tensor float32 norms. Parameters without a gradient are skipped; gradients
     * must be contiguous F32 tensors; NaN or infinite when any gradient element is.
     *
     * @param params the parameters whose gradients are measured
     * @return the global norm
     * @throws IllegalStateException when a gradient is not a contiguous F32 tensor
     */
    public static double globalNorm(Collection<Tensor> params) {
        return globalNormOf(gradients(params));
    }

    private static float globalNormOf(List<Tensor> grads) {
        double sumSq = 0;
        for (float norm : TensorNorms.l2(grads)) {
            sumSq += (double) norm * norm;
        }
        return (float) Math.sqrt(sumSq);
    }

    /**
     * Scales every gradient in place by {@code min(1, maxNorm / (norm + 1e-6))}, computed in float32 as torch does
     * ({@code (1 / (norm + 1e-6)) * maxNorm}), and returns the norm before clipping. When the norm is NaN or
     * infinite the gradients become NaN or zero as in torch (its {@code error_if_nonfinite=False}); a training
     * loop should check the returned norm and skip the step.
     *
     * @param params the parameters whose gradients are scaled
     * @param maxNorm the largest allowed global norm
     * @return the global norm before clipping
     * @throws IllegalArgumentException when {@code maxNorm} is not positive and finite, or rounds to 0 in float32, where
     *                                  the scale is computed
     * @throws IllegalStateException    when a gradient is not a contiguous F32 tensor
     */
    public static double clipGlobalNorm(Collection<Tensor> params, double maxNorm) {
        Checks.positive("maxNorm", maxNorm);
        List<Tensor> grads = gradients(params);
        float norm = globalNormOf(grads);
        float coef = Math.min(1f, (1f / (norm + 1e-6f)) * (float) maxNorm);
        if (coef == 1f) {
            return norm; // torch multiplies by exactly 1 here, which changes nothing
        }
        for (Tensor grad : grads) {
            grad.backend().elementwise().affine(grad, coef, 0f, grad);
        }
        return norm;
    }

    /** The gradients of {@code params} that have one, checked (also {@link UpdateGate}'s). */
    static List<Tensor> gradients(Collection<Tensor> params) {
        List<Tensor> grads = new ArrayList<>();
        for (Tensor p : params) {
            Tensor grad = p.grad();
            if (grad == null) {
                continue;
            }
            if (grad.dtype() != DType.F32 || !grad.isContiguous()) {
                throw new IllegalStateException("gradients must be contiguous F32 tensors, found " + grad);
            }
            grads.add(grad);
        }
        return grads;
    }
}
