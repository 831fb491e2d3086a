package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.Tensor;

import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter 2019) as {@code torch.optim.AdamW} computes it in float32, operation for
 * operation: p *= 1 - lr*wd; m = lerp(m, g, 1-beta1); v = beta2*v + (1-beta2)*g*g;
 * p -= lr/(1-beta1^t) * m / (sqrt(v)/sqrt(1-beta2^t) + eps).
 *
 * <pre>{@code
 * Optimizer opt = new AdamW(model.trainableParameters(), 1e-3, 0.9, 0.999, 1e-8, 0.01);
 * opt.step(); opt.zeroGrad();
 * }</pre>
 */
public final class AdamW implements Optimizer {
    private final ParameterSet set;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private double lr;
    private long steps;

    public AdamW(Map<String, Tensor> parameters, double lr, double beta1, double beta2, double eps, double weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("AdamW betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (eps <= 0 || lr < 0 || weightDecay < 0) {
            throw new IllegalArgumentException("AdamW needs lr >= 0, eps > 0, weight decay >= 0; got " + lr + ", " + eps + ", " + weightDecay);
        }
        this.set = new ParameterSet(parameters, "exp_avg", "exp_avg_sq");
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    @Override
    public void step() {
        steps++;
        float decay = (float) (1 - lr * weightDecay);
        float stepSize = (float) (lr / (1 - Math.pow(beta1, steps)));
        float bc2 = (float) Math.sqrt(1 - Math.pow(beta2, steps));
        float b1 = (float) (1 - beta1);
        float b2 = (float) beta2;
        float oneMinusB2 = (float) (1 - beta2);
        float e = (float) eps;
        for (int k = 0; k < set.params.size(); k++) {
            Tensor p = set.params.get(k);
            if (p.grad() == null) {
                continue;
            }
            float[] w = p.toFloatArray();
            float[] g = p.grad().toFloatArray();
            float[] m = set.slot("exp_avg", k);
            float[] v = set.slot("exp_avg_sq", k);
            for (int i = 0; i < w.length; i++) {
                w[i] *= decay;
                m[i] += b1 * (g[i] - m[i]); // torch's lerp_ for weight < 0.5
                v[i] = v[i] * b2 + oneMinusB2 * g[i] * g[i];
                float denom = (float) Math.sqrt(v[i]) / bc2 + e;
                w[i] += -stepSize * (m[i] / denom);
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
