package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.Tensor;

import java.util.Collection;

/** Global-norm gradient clipping as {@code torch.nn.utils.clip_grad_norm_}. */
public final class GradientClipping {
    private GradientClipping() {
    }

    /**
     * The L2 norm over all gradients (missing gradients count as zero; each tensor's norm is rounded to float32
     * first, as torch does); NaN or infinite when any gradient element is.
     */
    public static double globalNorm(Collection<Tensor> params) {
        double sumSq = 0;
        for (Tensor p : params) {
            if (p.grad() == null) {
                continue;
            }
            double local = 0;
            for (float v : p.grad().toFloatArray()) {
                local += (double) v * v;
            }
            float norm = (float) Math.sqrt(local);
            sumSq += (double) norm * norm;
        }
        return Math.sqrt(sumSq);
    }

    /**
     * Scales every gradient by min(1, maxNorm / (norm + 1e-6)) and returns the norm before clipping.
     */
    public static double clipGlobalNorm(Collection<Tensor> params, double maxNorm) {
        double norm = globalNorm(params);
        float coef = (float) Math.min(1.0, maxNorm / (norm + 1e-6));
        for (Tensor p : params) {
            Tensor grad = p.grad();
            if (grad == null) {
                continue;
            }
            float[] g = grad.toFloatArray();
            for (int i = 0; i < g.length; i++) {
                g[i] *= coef;
            }
            ParameterSet.write(grad, g);
        }
        return norm;
    }
}
