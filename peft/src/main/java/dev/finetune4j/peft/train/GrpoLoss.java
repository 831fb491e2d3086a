package dev.finetune4j.peft.train;

import java.util.ArrayList;
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
 * GRPO's per-token loss as TRL's {@code GRPOTrainer._compute_loss} forms it, as tensor ops on the model's device
 * (nothing is read back). Per completion token, with {@code p} the policy's log-probability, {@code A} the
 * completion's advantage and {@code ρ = exp(p - p_old)} the importance ratio:
 * {@code l = -min(ρ A, clip(ρ, 1 - ε, 1 + ε_high) A) + β (exp(q - p) - (q - p) - 1)}, the last term the k3 estimate of
 * KL(policy || reference) with {@code q} the reference's log-probability (Schulman 2020; only when β > 0).
 * With one iteration per generation the old policy is the policy itself, detached: {@code ρ = 1} in value, and its
 * gradient {@code ∇p} is what trains. With {@code numIterations} μ > 1, {@code p_old} are the log-probabilities of the
 * policy that sampled the completions, taken once at generation time: the later steps' ratios move away from 1 and
 * the clipping bounds how far one generation pulls the policy. {@code min(a, b) = a - relu(a - b)} and {@code clip} is composed of relus; at
 * {@code ρ = 1} both give the gradient of {@code a}, as torch's {@code min} of equal values does.
 */
final class GrpoLoss {
    private GrpoLoss() {
    }

    /** The names of a micro-batch's metric sums under {@code cfg}, in order: the KL's only with β > 0. */
    static List<String> metricNames(GrpoConfig cfg) {
        List<String> names = new ArrayList<>();
        if (cfg.beta() > 0) {
            names.add("kl");
        }
        names.addAll(List.of("clip_ratio/low", "clip_ratio/high"));
        return List.copyOf(names);
    }

    /**
     * The loss and metric sums of a micro-batch.
     *
     * @param sum        {@code Σ l w} over every position, [1] with autograd
     * @param metricSums TRL's GRPO metrics of the micro-batch, means over its loss tokens, without autograd, for the
     *                   loop to add over a step's micro-batches: {@code kl} (the per-token KL estimate, when β > 0),
     *                   {@code clip_ratio/low} and {@code clip_ratio/high} (the share of loss tokens whose ratio is
     *                   below {@code 1 - ε} with a negative advantage, above {@code 1 + ε_high} with a positive one),
     *                   each [1]
     */
    record Sums(Tensor sum, Map<String, Tensor> metricSums) {
    }

    /**
     * logps: the policy's per-position log-probabilities with autograd; oldLogps: the generating policy's, without
     * autograd, or null when the old policy is the policy ({@code numIterations} 1); reference: the reference's, or null
     * when β = 0; advantages: each position's completion's advantage; weights: each position's share of the loss (0 off
     * the loss tokens, see {@link GrpoLossType}); mask: 1 on a loss token, else 0; all of one shape (N) on one device;
     * lossTokens: the mask's sum, known to the caller. Always float32, whatever {@link Precision} the forward pass ran
     * under.
     */
    static Sums of(GrpoConfig cfg, Tensor logps, Tensor oldLogps, Tensor reference, Tensor advantages, Tensor weights,
                   Tensor mask, int lossTokens) {
        try (var f32 = Precision.F32.use()) {
            Tensor ratio = Elementwise.exp(Elementwise.sub(logps, oldLogps == null ? logps.detach() : oldLogps));
            Tensor unclipped = Elementwise.mul(ratio, advantages);
            Tensor clipped = Elementwise.mul(clip(ratio, 1 - cfg.epsilon(), 1 + cfg.epsilonHigh()), advantages);
            Tensor smaller = Elementwise.sub(unclipped, relu(Elementwise.sub(unclipped, clipped)));
            Tensor perToken = Elementwise.scale(smaller, -1f);
            Tensor kl = cfg.beta() > 0 ? k3(logps, reference) : null;
            if (kl != null) {
                perToken = Elementwise.add(perToken, Elementwise.scale(kl, (float) cfg.beta()));
            }
            Tensor sum = Reductions.sum(Elementwise.mul(perToken, weights));
            return new Sums(sum, metricSums(cfg, ratio.detach(), kl == null ? null : kl.detach(), advantages, mask,
                    1f / Math.max(1, lossTokens)));
        }
    }

    /** The masked means of {@link Sums#metricSums}; perToken is 1 / max(1, loss tokens). */
    private static Map<String, Tensor> metricSums(GrpoConfig cfg, Tensor ratio, Tensor kl, Tensor advantages, Tensor mask,
                                                  float perToken) {
        try (var ng = Autograd.noGrad()) {
            Tensor low = Elementwise.mul(Elementwise.isPositive(Elementwise.addScalar(Elementwise.scale(ratio, -1f),
                    (float) (1 - cfg.epsilon()))), Elementwise.isPositive(Elementwise.scale(advantages, -1f)));
            Tensor high = Elementwise.mul(Elementwise.isPositive(Elementwise.addScalar(ratio,
                    (float) -(1 + cfg.epsilonHigh()))), Elementwise.isPositive(advantages));
            Map<String, Tensor> means = new LinkedHashMap<>();
            if (kl != null) {
                means.put("kl", Elementwise.scale(Reductions.sum(Elementwise.mul(kl, mask)), perToken));
            }
            means.put("clip_ratio/low", Elementwise.scale(Reductions.sum(Elementwise.mul(low, mask)), perToken));
            means.put("clip_ratio/high", Elementwise.scale(Reductions.sum(Elementwise.mul(high, mask)), perToken));
            return means;
        }
    }

    /**
     * The reported metrics from {@link Sums#metricSums} added over a step's micro-batches: as TRL logs them, the mean
     * over the micro-batches of their means per loss token: {@code kl} (when β > 0), {@code clip_ratio/low_mean},
     * {@code clip_ratio/high_mean} and {@code clip_ratio/region_mean} (their sum: the two are exclusive).
     *
     * @param microBatches the micro-batches of the step
     */
    static Map<String, Double> metrics(Map<String, Double> sums, int microBatches) {
        Map<String, Double> out = new LinkedHashMap<>();
        if (sums.containsKey("kl")) {
            out.put("kl", sums.get("kl") / microBatches);
        }
        double low = sums.get("clip_ratio/low") / microBatches;
        double high = sums.get("clip_ratio/high") / microBatches;
        out.put("clip_ratio/low_mean", low);
        out.put("clip_ratio/high_mean", high);
        out.put("clip_ratio/region_mean", low + high);
        return out;
    }

    /** k3 = exp(q - p) - (q - p) - 1 elementwise: an unbiased, non-negative estimate of KL(policy || reference). */
    private static Tensor k3(Tensor logps, Tensor reference) {
        Tensor d = Elementwise.sub(reference, logps);
        return Elementwise.addScalar(Elementwise.sub(Elementwise.exp(d), d), -1f);
    }

    /** clamp(x, lo, hi) = lo + relu(x - lo) - relu(x - hi), for lo < hi. */
    private static Tensor clip(Tensor x, double lo, double hi) {
        Tensor above = relu(Elementwise.addScalar(x, (float) -lo));
        Tensor over = relu(Elementwise.addScalar(x, (float) -hi));
        return Elementwise.addScalar(Elementwise.sub(above, over), (float) lo);
    }

    private static Tensor relu(Tensor x) {
        return Activations.apply(Activations.Kind.RELU, x);
    }
}
