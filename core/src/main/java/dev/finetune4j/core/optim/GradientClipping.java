package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Collection;

/**
 * Global-norm gradient clipping as {@code torch.nn.utils.clip_grad_norm_} (L2), in float32 like torch.
 *
 * <pre>{@code
 * double norm = GradientClipping.clipGlobalNorm(trainable.values(), 1.0);   // log it: spikes show instability
 * }</pre>
 *
 * <p>Not thread-safe with respect to the gradients it scales.
 */
public final class GradientClipping {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private GradientClipping() {
    }

    /**
     * The L2 norm over all gradients as a float32 value: each tensor's norm is summed in double and rounded to
     * float32, then the norm of those norms likewise, as torch stacks per-tensor float32 norms. Parameters
     * without a gradient are skipped; gradients must be contiguous F32 tensors; NaN or infinite when any gradient element is.
     */
    public static double globalNorm(Collection<Tensor> params) {
        double sumSq = 0;
        for (Tensor p : params) {
            Tensor grad = p.grad();
            if (grad == null) {
                continue;
            }
            MemorySegment g = elements(grad);
            double local = 0;
            for (long i = 0; i < grad.numel(); i++) {
                float v = g.getAtIndex(F, i);
                local += (double) v * v;
            }
            float norm = (float) Math.sqrt(local);
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
     * @throws IllegalArgumentException when {@code maxNorm} is not positive and finite
     * @throws IllegalStateException    when a gradient is not a contiguous F32 tensor
     */
    public static double clipGlobalNorm(Collection<Tensor> params, double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("maxNorm must be positive and finite, got " + maxNorm);
        }
        float norm = (float) globalNorm(params);
        float coef = Math.min(1f, (1f / (norm + 1e-6f)) * (float) maxNorm);
        if (coef == 1f) {
            return norm; // torch multiplies by exactly 1 here, which changes nothing
        }
        for (Tensor p : params) {
            Tensor grad = p.grad();
            if (grad == null) {
                continue;
            }
            MemorySegment g = elements(grad);
            for (long i = 0; i < grad.numel(); i++) {
                g.setAtIndex(F, i, g.getAtIndex(F, i) * coef);
            }
        }
        return norm;
    }

    private static MemorySegment elements(Tensor grad) {
        if (grad.dtype() != DType.F32 || !grad.isContiguous()) {
            throw new IllegalStateException("gradients must be contiguous F32 tensors, found " + grad);
        }
        return ParameterSet.elements(grad);
    }
}
