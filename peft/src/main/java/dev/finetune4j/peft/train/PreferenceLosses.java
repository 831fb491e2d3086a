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

/**
 * The pieces every preference loss shares (DPO, ORPO, SimPO), as tensor ops on the device: a stable log σ, the
 * label-smoothed sigmoid loss of the Bradley-Terry model, and TRL's reward metrics.
 */
final class PreferenceLosses {
    /** The names of {@link #rewardSums}' sums, in order. */
    static final List<String> REWARD_SUMS = List.of("rewards/chosen", "rewards/rejected", "rewards/margins",
            "rewards/accuracies");

    private PreferenceLosses() {
    }

    /**
     * log σ(x) = min(x, 0) - log(1 + exp(-|x|)) with min(x, 0) = x - relu(x) and |x| = 2 relu(x) - x: exp never
     * overflows, and at x = 0 (policy = reference, DPO's first step) the derivative is σ(0) = 1/2, where a
     * composition through two relus alone would give 0. x: any shape -> x's shape.
     */
    static Tensor logSigmoid(Tensor x) {
        Tensor relu = Activations.apply(Activations.Kind.RELU, x);
        Tensor abs = Elementwise.sub(Elementwise.scale(relu, 2f), x);
        Tensor log1pExp = Elementwise.log(Elementwise.addScalar(Elementwise.exp(Elementwise.scale(abs, -1f)), 1f));
        return Elementwise.sub(Elementwise.sub(x, relu), log1pExp);
    }

    /** σ(x) in double. */
    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    /** log σ(x), stable for large |x|. */
    static double logSigmoid(double x) {
        return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
    }

    /**
     * {@code -(1 - ls) log σ(x) - ls log σ(-x)} elementwise: the sigmoid loss of DPO (x = β h) and of SimPO
     * (x = β (c - r - γ/β)), with label smoothing {@code ls} (the assumed probability of a flipped label).
     */
    static Tensor sigmoidLoss(Tensor x, double labelSmoothing) {
        float ls = (float) labelSmoothing;
        Tensor loss = Elementwise.scale(logSigmoid(x), -(1 - ls));
        return ls == 0 ? loss : Elementwise.sub(loss, Elementwise.scale(logSigmoid(Elementwise.scale(x, -1f)), ls));
    }

    /** {@code -(1 - ls) log σ(x) - ls log σ(-x)} in double. */
    static double sigmoidLoss(double x, double labelSmoothing) {
        return -(1 - labelSmoothing) * logSigmoid(x) - labelSmoothing * logSigmoid(-x);
    }

    /**
     * TRL's reward metrics of a micro-batch, summed over its pairs without autograd, so that the caller reads them
     * back together with the loss. With each pair's rewards {@code c} (chosen) and {@code r} (rejected):
     * {@code rewards/chosen} = Σ c, {@code rewards/rejected} = Σ r, {@code rewards/margins} = Σ (c - r),
     * {@code rewards/accuracies} = the number of pairs with c > r (TRL's name).
     * rewards: (2N) float32, the N chosen first -> four [1] float32 tensors.
     */
    static Map<String, Tensor> rewardSums(Tensor rewards) {
        int n = Math.toIntExact(rewards.numel() / 2);
        try (var ng = Autograd.noGrad(); var f32 = Precision.F32.use()) {
            Tensor chosen = rewards.slice(0, 0, n);
            Tensor rejected = rewards.slice(0, n, 2 * n);
            Tensor margins = Elementwise.sub(chosen, rejected);
            Map<String, Tensor> sums = new LinkedHashMap<>();
            sums.put("rewards/chosen", Reductions.sum(chosen));
            sums.put("rewards/rejected", Reductions.sum(rejected));
            sums.put("rewards/margins", Reductions.sum(margins));
            sums.put("rewards/accuracies", Reductions.sum(Elementwise.isPositive(margins)));
            return sums;
        }
    }
}
