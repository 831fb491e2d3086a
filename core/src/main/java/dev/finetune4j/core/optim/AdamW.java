package dev.finetune4j.core.optim;

import dev.finetune4j.core.backend.AdamWStep;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter 2019, decoupled weight decay) as {@code torch.optim.AdamW} computes it on the
 * CPU (the single-tensor path), operation for operation in float32, per parameter with its own step t:
 * <pre>
 * p = p * (1 - lr*wd)
 * m = lerp(m, g, 1 - beta1)
 * v = v * beta2 + (1 - beta2) * g * g
 * denom = sqrt(v) / sqrt(1 - beta2^t) + eps
 * p = p + (-lr / (1 - beta1^t)) * m / denom
 * </pre>
 * Scalars are formed in double and rounded to float32 once, as torch passes Python floats to float kernels.
 * NOTE: torch's CUDA foreach path computes {@code p + step * (m / denom)}; results differ from it by at most
 * an ulp of the update.
 *
 * <p>The moments are float32 tensors on each parameter's device; the update runs there
 * ({@code OptimizerKernels.adamw}).
 *
 * <pre>{@code
 * try (Optimizer opt = new AdamW(trainable, AdamWConfig.of(1e-3))) {
 *     ... opt.step(); opt.zeroGrad(); ...
 * }
 * }</pre>
 *
 * <p>Not thread-safe.
 */
public final class AdamW extends SlotOptimizer {
    private final AdamWConfig config;

    /**
     * An AdamW optimizer over {@code parameters}, with zeroed moments.
     *
     * @param parameters trainable parameters by name (contiguous F32 leaves with requiresGrad), names as in the
     *                   model's state dict; the names key the exported state
     * @param config the hyper-parameters; its learning rate is the initial one
     * @throws IllegalArgumentException when a parameter cannot be optimized (not a contiguous F32 leaf with
     *                                  requiresGrad, or passed twice)
     */
    public AdamW(Map<String, Tensor> parameters, AdamWConfig config) {
        super(parameters, config.lr(), "exp_avg", "exp_avg_sq");
        this.config = config;
    }

    /**
     * The hyper-parameters this optimizer was created with.
     *
     * @return the configuration (its learning rate is the initial one, see {@link #learningRate()})
     */
    public AdamWConfig config() {
        return config;
    }

    @Override
    protected void update() {
        float decay = (float) (1 - lr * config.weightDecay());
        float weight = (float) (1 - config.beta1());
        float beta2 = (float) config.beta2();
        float oneMinusBeta2 = (float) (1 - config.beta2());
        float eps = (float) config.eps();
        for (int k = 0; k < set.size(); k++) {
            Tensor grad = set.grad(k);
            if (grad == null) {
                continue;
            }
            long t = set.advance(k);
            float negStepSize = (float) -(lr / (1 - Math.pow(config.beta1(), t)));
            float bc2Sqrt = (float) Math.sqrt(1 - Math.pow(config.beta2(), t));
            Tensor p = set.param(k);
            p.backend().optimizer().adamw(p, grad, set.slot("exp_avg", k), set.slot("exp_avg_sq", k),
                    new AdamWStep(decay, weight, beta2, oneMinusBeta2, eps, negStepSize, bc2Sqrt));
        }
    }
}
