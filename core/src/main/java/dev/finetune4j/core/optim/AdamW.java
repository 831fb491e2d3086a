package dev.finetune4j.core.optim;

import dev.finetune4j.core.backend.AdamWStep;
import dev.finetune4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
    protected void update(Tensor[] grads, Tensor gate) {
        float decay = (float) (1 - lr * config.weightDecay());
        float weight = (float) (1 - config.beta1());
        float beta2 = (float) config.beta2();
        float oneMinusBeta2 = (float) (1 - config.beta2());
        float eps = (float) config.eps();
        // parameters that share a device and a step count take one multi-tensor update (the usual case: every
        // parameter of an adapter has a gradient at every step)
        Map<Object, Group> groups = new LinkedHashMap<>();
        for (int k = 0; k < set.size(); k++) {
            Tensor grad = grads[k];
            if (grad == null) {
                continue;
            }
            long t = set.advance(k);
            Tensor p = set.param(k);
            groups.computeIfAbsent(List.of(p.device(), t), key -> new Group(t)).add(p, grad,
                    set.slot("exp_avg", k), set.slot("exp_avg_sq", k));
        }
        for (Group g : groups.values()) {
            float negStepSize = (float) -(lr / (1 - Math.pow(config.beta1(), g.step)));
            float bc2Sqrt = (float) Math.sqrt(1 - Math.pow(config.beta2(), g.step));
            g.params.getFirst().backend().optimizer().adamw(g.params, g.grads, g.m, g.v,
                    new AdamWStep(decay, weight, beta2, oneMinusBeta2, eps, negStepSize, bc2Sqrt), gate);
        }
    }

    /** Parameters of one device at one step count, with their gradients and moments. */
    private static final class Group {
        final long step;
        final List<Tensor> params = new ArrayList<>();
        final List<Tensor> grads = new ArrayList<>();
        final List<Tensor> m = new ArrayList<>();
        final List<Tensor> v = new ArrayList<>();

        Group(long step) {
            this.step = step;
        }

        void add(Tensor param, Tensor grad, Tensor firstMoment, Tensor secondMoment) {
            params.add(param);
            grads.add(grad);
            m.add(firstMoment);
            v.add(secondMoment);
        }
    }
}
