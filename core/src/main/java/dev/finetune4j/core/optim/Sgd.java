package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.Tensor;

import java.util.Map;

/**
 * Stochastic gradient descent as {@code torch.optim.SGD}: g += wd*p; with momentum, buf = momentum*buf +
 * (1-dampening)*g (buf = g on the first step); g = nesterov ? g + momentum*buf : buf; p -= lr*g.
 */
public final class Sgd implements Optimizer {
    private final ParameterSet set;
    private final double momentum;
    private final double dampening;
    private final boolean nesterov;
    private final double weightDecay;
    private double lr;
    private long steps;

    public Sgd(Map<String, Tensor> parameters, double lr, double momentum, double dampening, boolean nesterov, double weightDecay) {
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("Nesterov momentum needs momentum > 0 and dampening 0 (as in PyTorch)");
        }
        this.set = new ParameterSet(parameters, "momentum_buffer");
        this.lr = lr;
        this.momentum = momentum;
        this.dampening = dampening;
        this.nesterov = nesterov;
        this.weightDecay = weightDecay;
    }

    @Override
    public void step() {
        steps++;
        for (int k = 0; k < set.params.size(); k++) {
            Tensor p = set.params.get(k);
            if (p.grad() == null) {
                continue;
            }
            float[] w = p.toFloatArray();
            float[] g = p.grad().toFloatArray();
            float[] buf = set.slot("momentum_buffer", k);
            for (int i = 0; i < w.length; i++) {
                float d = g[i] + (float) weightDecay * w[i];
                if (momentum != 0) {
                    buf[i] = steps == 1 ? d : (float) momentum * buf[i] + (float) (1 - dampening) * d;
                    d = nesterov ? d + (float) momentum * buf[i] : buf[i];
                }
                w[i] -= (float) lr * d;
            }
            ParameterSet.write(p, w);
        }
    }

    @Override
    public void zeroGrad() {
        set.zeroGrad();
    }

    @Override
    public double learningRate() {
        return lr;
    }

    @Override
    public void setLearningRate(double lr) {
        this.lr = lr;
    }

    @Override
    public long steps() {
        return steps;
    }

    @Override
    public Map<String, float[]> exportState() {
        return set.export();
    }

    @Override
    public void importState(Map<String, float[]> state, long steps) {
        set.restore(state);
        this.steps = steps;
    }
}
