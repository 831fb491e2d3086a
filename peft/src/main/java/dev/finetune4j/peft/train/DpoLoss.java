package dev.finetune4j.peft.train;

import java.util.LinkedHashMap;
import java.util.List;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Map;
import java.util.stream.Stream;

import static dev.finetune4j.peft.train.PreferenceLosses.sigmoid;

/**
 * The preference losses of TRL's {@code DPOTrainer} over summed response log-probabilities, as a scalar
 * formula (for reporting and checks) and as tensor ops on the model's device (for training).
 *
 * <p>With {@code pc, pr} the policy's and {@code rc, rr} the reference's log-probabilities of the chosen and
 * rejected responses, {@code h = (pc - rc) - (pr - rr)}:
 * sigmoid: {@code -(1 - ls) log σ(βh) - ls log σ(-βh)}; IPO: {@code (h - 1/(2β))^2}.
 * Implicit rewards: {@code β (pc - rc)} and {@code β (pr - rr)}, summed per micro-batch by {@link #metricSums}.
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
            case SIGMOID -> PreferenceLosses.sigmoidLoss(cfg.beta() * h, cfg.labelSmoothing());
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
     * the same order; reference: (2N) float32 in the same order, on the same device -> [1]. Always float32, whatever
     * {@link Precision} the forward pass ran under.
     */
    static Tensor lossSum(DpoConfig cfg, Tensor policy, Tensor reference) {
        int n = pairs(policy, reference);
        try (var f32 = Precision.F32.use()) {
            Tensor flat = policy.reshape(2 * n);
            Tensor referenceMargins = Elementwise.sub(reference.slice(0, 0, n), reference.slice(0, n, 2 * n));
            // h = (pc - pr) - (rc - rr): (N)
            Tensor h = Elementwise.sub(Elementwise.sub(flat.slice(0, 0, n), flat.slice(0, n, 2 * n)), referenceMargins);
            float beta = (float) cfg.beta();
            Tensor losses = switch (cfg.lossType()) {
                case SIGMOID -> PreferenceLosses.sigmoidLoss(Elementwise.scale(h, beta), cfg.labelSmoothing());
                case IPO -> {
                    Tensor d = Elementwise.addScalar(h, -1 / (2 * beta));
                    yield Elementwise.mul(d, d);
                }
            };
            return Reductions.sum(losses);
        }
    }

    /** The names of {@link #metricSums}' sums, in order. */
    static final List<String> METRIC_SUMS = Stream.concat(PreferenceLosses.REWARD_SUMS.stream(),
            Stream.of("logps/chosen", "logps/rejected")).toList();

    /**
     * TRL's metrics of a micro-batch, summed over its pairs with tensor ops on the policy's device and without
     * autograd, so that the caller reads them back together with the loss. With the implicit rewards
     * {@code c = β (pc - rc)} and {@code r = β (pr - rr)} of each pair: {@code rewards/chosen} = Σ c,
     * {@code rewards/rejected} = Σ r, {@code rewards/margins} = Σ (c - r), {@code rewards/accuracies} = the number of
     * pairs with c > r; {@code logps/chosen} = Σ pc and {@code logps/rejected} = Σ pr, the policy's summed
     * log-probabilities of the responses. policy and reference: (2N) as for {@link #lossSum} -> six [1] float32 tensors.
     */
    static Map<String, Tensor> metricSums(DpoConfig cfg, Tensor policy, Tensor reference) {
        int n = pairs(policy, reference);
        try (var ng = Autograd.noGrad(); var f32 = Precision.F32.use()) {
            Tensor logps = policy.detach().reshape(2 * n);
            Map<String, Tensor> sums = new LinkedHashMap<>(PreferenceLosses.rewardSums(
                    Elementwise.scale(Elementwise.sub(logps, reference), (float) cfg.beta())));
            sums.put("logps/chosen", Reductions.sum(logps.slice(0, 0, n)));
            sums.put("logps/rejected", Reductions.sum(logps.slice(0, n, 2 * n)));
            return sums;
        }
    }

    /** N, the pairs of a (2N) policy, checked against the reference. */
    private static int pairs(Tensor policy, Tensor reference) {
        if (policy.numel() % 2 != 0 || reference.numel() != policy.numel()) {
            throw new IllegalArgumentException("expected 2N policy and 2N reference log-probabilities, got "
                    + policy.shape() + " and " + reference.shape());
        }
        return Math.toIntExact(policy.numel() / 2);
    }
}
