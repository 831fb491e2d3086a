package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * The preference losses of TRL's {@code DPOTrainer} over summed response log-probabilities, as a scalar
 * formula (for reporting and checks) and as an autograd op (for training).
 *
 * <p>With {@code pc, pr} the policy's and {@code rc, rr} the reference's log-probabilities of the chosen and
 * rejected responses, {@code h = (pc - rc) - (pr - rr)}:
 * sigmoid: {@code -(1 - ls) log σ(βh) - ls log σ(-βh)}; IPO: {@code (h - 1/(2β))^2}.
 * Implicit rewards: {@code β (pc - rc)} and {@code β (pr - rr)}.
 */
public final class DpoLoss {
    private DpoLoss() {
    }

    /**
     * The loss of one pair.
     *
     * @param cfg the loss type, beta and label smoothing
     * @param policyChosen the policy's summed log-probability of the chosen response
     * @param policyRejected the policy's summed log-probability of the rejected response
     * @param referenceChosen the reference's summed log-probability of the chosen response
     * @param referenceRejected the reference's summed log-probability of the rejected response
     * @return the loss
     */
    public static double loss(DpoConfig cfg, double policyChosen, double policyRejected,
                              double referenceChosen, double referenceRejected) {
        double h = (policyChosen - referenceChosen) - (policyRejected - referenceRejected);
        return switch (cfg.lossType()) {
            case SIGMOID -> -(1 - cfg.labelSmoothing()) * logSigmoid(cfg.beta() * h)
                    - cfg.labelSmoothing() * logSigmoid(-cfg.beta() * h);
            case IPO -> {
                double d = h - 1 / (2 * cfg.beta());
                yield d * d;
            }
        };
    }

    /** dLoss/dh of one pair. */
    static double dLossDh(DpoConfig cfg, double h) {
        return switch (cfg.lossType()) {
            // d/dx log σ(x) = σ(-x)
            case SIGMOID -> -(1 - cfg.labelSmoothing()) * cfg.beta() * sigmoid(-cfg.beta() * h)
                    + cfg.labelSmoothing() * cfg.beta() * sigmoid(cfg.beta() * h);
            case IPO -> 2 * (h - 1 / (2 * cfg.beta()));
        };
    }

    /**
     * Sum of the pair losses. policy: (2N) summed log-probabilities, the N chosen responses first, then the N
     * rejected ones in the same order -> [1]. Backward: d/dpc = dL/dh, d/dpr = -dL/dh.
     */
    static Tensor lossSum(DpoConfig cfg, Tensor policy, double[] referenceChosen, double[] referenceRejected) {
        int n = referenceChosen.length;
        if (policy.numel() != 2L * n) {
            throw new IllegalArgumentException("expected " + 2 * n + " policy log-probabilities, got " + policy.shape());
        }
        float[] p = policy.toFloatArray();
        double sum = 0;
        float[] dh = new float[n];
        for (int i = 0; i < n; i++) {
            sum += loss(cfg, p[i], p[n + i], referenceChosen[i], referenceRejected[i]);
            double h = ((double) p[i] - referenceChosen[i]) - ((double) p[n + i] - referenceRejected[i]);
            dh[i] = (float) dLossDh(cfg, h);
        }
        // 2N scalars: the loss is formed on the host and goes back to the policy's device
        Tensor out = Tensor.of(policy.device(), TensorScope.current(), new float[]{(float) sum}, Shape.of(1));
        return Autograd.record("dpoLoss", out, dOut -> {
            float g = dOut.toFloatArray()[0];
            float[] d = new float[2 * n];
            for (int i = 0; i < n; i++) {
                d[i] = g * dh[i];
                d[n + i] = -g * dh[i];
            }
            return new Tensor[]{Tensor.of(policy.device(), TensorScope.current(), d, policy.shape())};
        }, policy);
    }

    /** log σ(x), stable for large |x|. */
    static double logSigmoid(double x) {
        return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }
}
