package dev.finetune4j.peft.train;

import java.util.List;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

import static dev.finetune4j.peft.train.PreferenceLosses.sigmoid;

/**
 * The loss of TRL's {@code KTOTrainer} ({@code loss_type "kto"}; Ethayarajh et al. 2024, eq. 7) over summed
 * completion log-probabilities, as a scalar formula (for reporting and checks) and as tensor ops on the model's
 * device (for training).
 *
 * <p>With {@code p, r} the policy's and the reference's log-probabilities of a row's completion and
 * {@code z = max(0, mean over the micro-batch of (p' - r'))} the KL estimate from the mismatched (prompt, another
 * row's completion) sequences, detached: a desirable row costs {@code wD (1 - σ(β (p - r - z)))}, an undesirable one
 * {@code wU (1 - σ(β (z - (p - r))))}. The loss of a micro-batch is the mean over its rows (TRL's
 * {@code losses.nanmean()}: the weights scale the rows, they are not the denominator). Implicit reward of a row:
 * {@code β (p - r)}.
 */
public final class KtoLoss {
    /** The names of {@link #metricSums}' sums, in order. */
    static final List<String> METRIC_SUMS = List.of("rewards/chosen_sum", "rewards/rejected_sum", "logps/chosen_sum",
            "logps/rejected_sum", "count/chosen", "count/rejected", "kl");

    private KtoLoss() {
    }

    /**
     * The loss of one row.
     *
     * @param cfg       beta and the weights
     * @param desirable whether the row is desirable
     * @param policy    the policy's summed log-probability of the row's completion
     * @param reference the reference's summed log-probability of the row's completion
     * @param kl        the micro-batch's KL estimate, {@link #klEstimate} (already clamped at 0)
     * @return the row's weighted loss
     */
    public static double loss(KtoConfig cfg, boolean desirable, double policy, double reference, double kl) {
        double logRatio = policy - reference;
        return desirable ? cfg.desirableWeight() * (1 - sigmoid(cfg.beta() * (logRatio - kl)))
                : cfg.undesirableWeight() * (1 - sigmoid(cfg.beta() * (kl - logRatio)));
    }

    /**
     * The KL estimate of a micro-batch: the mean of the policy's minus the reference's log-probabilities of its
     * mismatched sequences, clamped at 0.
     *
     * @param policy    the policy's summed log-probability of each mismatched sequence
     * @param reference the reference's, in the same order
     * @return {@code max(0, mean(policy - reference))}
     */
    public static double klEstimate(double[] policy, double[] reference) {
        if (policy.length == 0 || policy.length != reference.length) {
            throw new IllegalArgumentException("expected as many reference as policy log-probabilities, at least one; got "
                    + policy.length + " and " + reference.length);
        }
        double sum = 0;
        for (int i = 0; i < policy.length; i++) {
            sum += policy[i] - reference[i];
        }
        return Math.max(0, sum / policy.length);
    }

    /** dLoss/dp of one row (the KL estimate held fixed, as it is detached). */
    static double dLossDPolicy(KtoConfig cfg, boolean desirable, double policy, double reference, double kl) {
        double x = cfg.beta() * (desirable ? policy - reference - kl : kl - (policy - reference));
        double w = desirable ? cfg.desirableWeight() : cfg.undesirableWeight();
        // d/dx (1 - σ(x)) = -σ(x) σ(-x); dx/dp = ±β
        return -w * sigmoid(x) * sigmoid(-x) * (desirable ? cfg.beta() : -cfg.beta());
    }

    /**
     * The KL estimate as a tensor on the device, without autograd: policyKl, referenceKl (N) -> [1]
     * {@code max(0, mean(policyKl - referenceKl))}.
     */
    static Tensor klEstimate(Tensor policyKl, Tensor referenceKl) {
        try (var ng = Autograd.noGrad(); var f32 = Precision.F32.use()) {
            Tensor mean = Reductions.mean(Elementwise.sub(policyKl.detach().reshape(Math.toIntExact(policyKl.numel())), referenceKl));
            return Activations.apply(Activations.Kind.RELU, mean.reshape(1));
        }
    }

    /**
     * Sum of the rows' weighted losses, formed with tensor ops on the policy's device (nothing is read back). policy:
     * (N) summed completion log-probabilities with autograd; reference: (N) float32; desirable: (N) 1 for a desirable
     * row, 0 for an undesirable one; kl: [1] from {@link #klEstimate(Tensor, Tensor)}, all on the same device ->
     * [1]. Always float32, whatever {@link Precision} the forward pass ran under.
     */
    static Tensor lossSum(KtoConfig cfg, Tensor policy, Tensor reference, Tensor desirable, Tensor kl) {
        int n = rows(policy, reference, desirable);
        try (var f32 = Precision.F32.use()) {
            // sign: +1 desirable, -1 undesirable; weight: wU + (wD - wU) desirable
            Tensor sign = Elementwise.addScalar(Elementwise.scale(desirable, 2f), -1f);
            Tensor weight = Elementwise.addScalar(Elementwise.scale(desirable,
                    (float) (cfg.desirableWeight() - cfg.undesirableWeight())), (float) cfg.undesirableWeight());
            Tensor shifted = Elementwise.sub(Elementwise.sub(policy.reshape(n), reference), kl.detach());
            // x = β sign (p - r - z); the row loss w (1 - σ(x)) = w σ(-x)
            Tensor minusX = Elementwise.mul(Elementwise.scale(shifted, (float) -cfg.beta()), sign);
            return Reductions.sum(Elementwise.mul(Activations.apply(Activations.Kind.SIGMOID, minusX), weight));
        }
    }

    /**
     * TRL's KTO metrics of a micro-batch as sums, with tensor ops on the device and without autograd, for the caller
     * to read back with the loss: {@code rewards/chosen_sum} and {@code rewards/rejected_sum} (β (p - r) over the
     * desirable and the undesirable rows), {@code logps/chosen_sum} and {@code logps/rejected_sum} (p), their counts
     * {@code count/chosen} and {@code count/rejected}, and {@code kl}: the estimate times the rows, so that summed
     * over micro-batches and divided by the rows it is their mean estimate. Inputs as for {@link #lossSum} -> [1]
     * float32 tensors.
     */
    static Map<String, Tensor> metricSums(KtoConfig cfg, Tensor policy, Tensor reference, Tensor desirable, Tensor kl) {
        int n = rows(policy, reference, desirable);
        try (var ng = Autograd.noGrad(); var f32 = Precision.F32.use()) {
            Tensor logps = policy.detach().reshape(n);
            Tensor undesirable = Elementwise.addScalar(Elementwise.scale(desirable, -1f), 1f);
            Tensor rewards = Elementwise.scale(Elementwise.sub(logps, reference), (float) cfg.beta());
            Map<String, Tensor> sums = new LinkedHashMap<>();
            sums.put("rewards/chosen_sum", Reductions.sum(Elementwise.mul(rewards, desirable)));
            sums.put("rewards/rejected_sum", Reductions.sum(Elementwise.mul(rewards, undesirable)));
            sums.put("logps/chosen_sum", Reductions.sum(Elementwise.mul(logps, desirable)));
            sums.put("logps/rejected_sum", Reductions.sum(Elementwise.mul(logps, undesirable)));
            sums.put("count/chosen", Reductions.sum(desirable));
            sums.put("count/rejected", Reductions.sum(undesirable));
            sums.put("kl", Elementwise.scale(kl, n));
            return sums;
        }
    }

    /**
     * The reported metrics from {@link #metricSums} added over micro-batches: TRL's {@code rewards/chosen},
     * {@code logps/chosen} (means over the desirable rows, absent when there were none), {@code rewards/rejected},
     * {@code logps/rejected} (the same over the undesirable rows), {@code rewards/margins} (chosen minus rejected, when
     * both are there) and {@code kl} (the mean estimate per row).
     */
    static Map<String, Double> metrics(Map<String, Double> sums, long rows) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (String side : new String[]{"chosen", "rejected"}) {
            double count = sums.get("count/" + side);
            if (count > 0) {
                out.put("rewards/" + side, sums.get("rewards/" + side + "_sum") / count);
                out.put("logps/" + side, sums.get("logps/" + side + "_sum") / count);
            }
        }
        if (out.containsKey("rewards/chosen") && out.containsKey("rewards/rejected")) {
            out.put("rewards/margins", out.get("rewards/chosen") - out.get("rewards/rejected"));
        }
        out.put("kl", sums.get("kl") / rows);
        return out;
    }

    /** N, the rows, checked against the reference and the labels. */
    private static int rows(Tensor policy, Tensor reference, Tensor desirable) {
        if (reference.numel() != policy.numel() || desirable.numel() != policy.numel()) {
            throw new IllegalArgumentException("expected N policy and N reference log-probabilities and N labels, got "
                    + policy.shape() + ", " + reference.shape() + " and " + desirable.shape());
        }
        return Math.toIntExact(policy.numel());
    }
}
