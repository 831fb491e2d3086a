package dev.finetune4j.core.optim;

import dev.finetune4j.core.backend.SgdStep;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Map;

/**
 * Stochastic gradient descent as {@code torch.optim.SGD} computes it on the CPU, in float32:
 * <pre>
 * d = g + wd * p                                  (when wd != 0)
 * buf = d on a parameter's first update, else buf * momentum + (1 - dampening) * d   (when momentum != 0)
 * d = nesterov ? d + momentum * buf : buf         (when momentum != 0)
 * p = p + (-lr) * d
 * </pre>
 *
 * <p>The momentum buffer is a float32 tensor on each parameter's device (exported as zeros without momentum); the
 * update runs there ({@code OptimizerKernels.sgd}).
 *
 * <pre>{@code
 * try (Optimizer opt = new Sgd(trainable, new SgdConfig(0.1, 0.9, 0, true, 1e-4))) { ... }
 * }</pre>
 *
 * <p>Not thread-safe.
 */
public final class Sgd extends SlotOptimizer {
    private final SgdConfig config;

    /**
     * An SGD optimizer over {@code parameters}, with no momentum buffers yet.
     *
     * @param parameters trainable parameters by name (contiguous F32 leaves with requiresGrad)
     * @param config the hyper-parameters; its learning rate is the initial one
     */
    public Sgd(Map<String, Tensor> parameters, SgdConfig config) {
        super(parameters, config.lr(), "momentum_buffer");
        this.config = config;
    }

    /**
     * The hyper-parameters this optimizer was created with.
     *
     * @return the configuration (its learning rate is the initial one, see {@link #learningRate()})
     */
    public SgdConfig config() {
        return config;
    }

    @Override
    protected void update(Tensor[] grads, Tensor gate) {
        float wd = (float) config.weightDecay();
        float momentum = (float) config.momentum();
        float keep = (float) (1 - config.dampening());
        float negLr = (float) -lr;
        for (int k = 0; k < set.size(); k++) {
            Tensor grad = grads[k];
            if (grad == null) {
                continue;
            }
            boolean first = set.advance(k) == 1;
            Tensor p = set.param(k);
            // the kernel takes momentum on when it is handed a buffer: decided on the double, as before
            Tensor buffer = config.momentum() != 0 ? set.slot("momentum_buffer", k) : null;
            p.backend().optimizer().sgd(p, grad, buffer, new SgdStep(negLr, wd, momentum, keep, config.nesterov(), first),
                    gate);
        }
    }
}
