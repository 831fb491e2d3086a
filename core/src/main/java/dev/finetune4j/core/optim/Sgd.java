package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * <pre>{@code
 * Optimizer opt = new Sgd(trainable, new SgdConfig(0.1, 0.9, 0, true, 1e-4));
 * }</pre>
 *
 * <p>Not thread-safe.
 */
public final class Sgd extends SlotOptimizer {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final SgdConfig config;

    /**
     * @param parameters trainable parameters by name (contiguous F32 leaves with requiresGrad)
     */
    public Sgd(Map<String, Tensor> parameters, SgdConfig config) {
        super(parameters, config.lr(), "momentum_buffer");
        this.config = config;
    }

    public SgdConfig config() {
        return config;
    }

    @Override
    protected void update() {
        float wd = (float) config.weightDecay();
        float momentum = (float) config.momentum();
        float keep = (float) (1 - config.dampening());
        float negLr = (float) -lr;
        for (int k = 0; k < set.size(); k++) {
            Tensor grad = set.grad(k);
            if (grad == null) {
                continue;
            }
            boolean first = set.advance(k) == 1;
            MemorySegment p = ParameterSet.elements(set.param(k));
            MemorySegment g = ParameterSet.elements(grad);
            float[] buf = set.slot("momentum_buffer", k);
            for (int i = 0; i < buf.length; i++) {
                float w = p.getAtIndex(F, i);
                float d = g.getAtIndex(F, i);
                if (config.weightDecay() != 0) {
                    d = d + wd * w;
                }
                if (config.momentum() != 0) {
                    buf[i] = first ? d : buf[i] * momentum + keep * d;
                    d = config.nesterov() ? d + momentum * buf[i] : buf[i];
                }
                p.setAtIndex(F, i, w + negLr * d);
            }
        }
    }
}
