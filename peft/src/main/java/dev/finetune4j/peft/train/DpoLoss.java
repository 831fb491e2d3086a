package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * The preference losses of TRL's {@code DPOTrainer} over summed response log-probabilities, as a scalar
 * formula (for reporting and checks) and as tensor ops on the model's device (for training).
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
     * Sum of the pair losses, formed with tensor ops on the policy's device (nothing is read back; the caller reads
     * the scalar). policy: (2N) summed log-probabilities, the N chosen responses first, then the N rejected ones in
     * the same order -> [1]. Always float32, whatever {@link Precision} the forward pass ran under.
     */
    static Tensor lossSum(DpoConfig cfg, Tensor policy, double[] referenceChosen, double[] referenceRejected) {
        int n = referenceChosen.length;
        if (policy.numel() != 2L * n) {
            throw new IllegalArgumentException("expected " + 2 * n + " policy log-probabilities, got " + policy.shape());
        }
        float[] referenceMargins = new float[n];
        for (int i = 0; i < n; i++) {
            referenceMargins[i] = (float) (referenceChosen[i] - referenceRejected[i]);
        }
        try (var f32 = Precision.F32.use()) {
            Tensor flat = policy.reshape(2 * n);
            // h = (pc - pr) - (rc - rr): (N)
            Tensor h = Elementwise.sub(Elementwise.sub(flat.slice(0, 0, n), flat.slice(0, n, 2 * n)),
                    Tensor.of(policy.device(), TensorScope.current(), referenceMargins, Shape.of(n)));
            float beta = (float) cfg.beta();
            Tensor losses = switch (cfg.lossType()) {
                case SIGMOID -> {
                    float ls = (float) cfg.labelSmoothing();
                    Tensor x = Elementwise.scale(h, beta);
                    Tensor loss = Elementwise.scale(logSigmoid(x), -(1 - ls));
                    yield ls == 0 ? loss : Elementwise.sub(loss, Elementwise.scale(logSigmoid(Elementwise.scale(x, -1f)), ls));
                }
                case IPO -> {
                    Tensor d = Elementwise.addScalar(h, -1 / (2 * beta));
                    yield Elementwise.mul(d, d);
                }
            };
            return Reductions.sum(losses);
        }
    }

    /**
     * log σ(x) = min(x, 0) - log(1 + exp(-|x|)) with min(x, 0) = x - relu(x) and |x| = 2 relu(x) - x: exp never
     * overflows, and at x = 0 (policy = reference, DPO's first step) the derivative is σ(0) = 1/2, where a
     * composition through two relus alone would give 0.
     */
    private static Tensor logSigmoid(Tensor x) {
        Tensor relu = Activations.apply(Activations.Kind.RELU, x);
        Tensor abs = Elementwise.sub(Elementwise.scale(relu, 2f), x);
        Tensor log1pExp = Elementwise.log(Elementwise.addScalar(Elementwise.exp(Elementwise.scale(abs, -1f)), 1f));
        return Elementwise.sub(Elementwise.sub(x, relu), log1pExp);
    }

    /** log σ(x), stable for large |x|. */
    static double logSigmoid(double x) {
        return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }
}
