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
 * ORPO's and SimPO's loss of one micro-batch as tensor ops on the model's device, always in float32, with the metric
 * sums TRL logs; nothing is read back.
 *
 * <p>TRL's loss of a micro-batch of N pairs is a mean over its pairs plus a token-mean NLL; the training loop divides
 * the sum an objective returns by the step's pairs. So {@link #of} returns N times TRL's micro-batch loss: with one
 * micro-batch per step the step's loss is TRL's exactly; with gradient accumulation it is the pair-weighted mean of
 * the micro-batches' TRL losses (the preference term is then the mean over all the step's pairs, the NLL term the
 * pair-weighted mean of each micro-batch's token mean, not one token mean over the step).
 */
final class ReferenceFreeLoss {
    private ReferenceFreeLoss() {
    }

    /** The names of {@link Parts#metricSums}' sums under {@code cfg}, in order. */
    static List<String> metricNames(ReferenceFreeConfig cfg) {
        List<String> names = new ArrayList<>(PreferenceLosses.REWARD_SUMS);
        names.addAll(List.of("logps/chosen", "logps/rejected"));
        switch (cfg) {
            case OrpoConfig orpo -> names.addAll(List.of("nll_loss", "log_odds_ratio", "log_odds_chosen"));
            case SimpoConfig simpo -> {
                if (simpo.cpoAlpha() != 0) {
                    names.add("nll_loss");
                }
            }
        }
        return List.copyOf(names);
    }

    /**
     * A micro-batch's loss sum (N × TRL's loss, [1], with autograd) and metric sums (each [1], without autograd, to be
     * divided by the step's pairs).
     */
    record Parts(Tensor sum, Map<String, Tensor> metricSums) {
    }

    /**
     * The loss and metrics of N pairs.
     *
     * @param tokenLogProbs   (2N, T) log p of each labelled position, 0 elsewhere: the N chosen sequences, then the N
     *                        rejected ones; the chosen rows are labelled wherever the NLL term reads them
     * @param responseWeights (2N, T) float32, 1 / (response length) at the positions that predict a response token,
     *                        0 elsewhere: Σ_t tokenLogProbs × weights is each response's average log-probability
     * @param nllTokens       the labelled positions of the chosen rows, the NLL's denominator
     */
    static Parts of(ReferenceFreeConfig cfg, Tensor tokenLogProbs, Tensor responseWeights, long nllTokens) {
        int n = tokenLogProbs.dim(0) / 2;
        try (var f32 = Precision.F32.use()) {
            Tensor average = Reductions.sum(Elementwise.mul(tokenLogProbs, responseWeights), 1, false); // (2N)
            Tensor c = average.slice(0, 0, n);
            Tensor r = average.slice(0, n, 2 * n);
            float beta = (float) cfg.beta();
            Map<String, Tensor> metrics = new LinkedHashMap<>(PreferenceLosses.rewardSums(
                    Elementwise.scale(average.detach(), beta)));
            metrics.put("logps/chosen", Reductions.sum(c.detach()));
            metrics.put("logps/rejected", Reductions.sum(r.detach()));
            Tensor sum = switch (cfg) {
                case OrpoConfig orpo -> {
                    // Hong et al. 2024, eq. 4 and 7: log odds(y) = log p - log(1 - p), with p the average probability
                    Tensor logOdds = Elementwise.sub(Elementwise.sub(c, r), Elementwise.sub(log1mexp(c), log1mexp(r)));
                    Tensor ratio = PreferenceLosses.logSigmoid(logOdds);
                    Tensor nll = nllTimesPairs(tokenLogProbs, n, nllTokens);
                    try (var ng = Autograd.noGrad()) {
                        metrics.put("nll_loss", nll.detach());
                        // TRL's names: log_odds_ratio is the mean of log σ(log odds), log_odds_chosen of the log odds
                        metrics.put("log_odds_ratio", Reductions.sum(ratio.detach()));
                        metrics.put("log_odds_chosen", Reductions.sum(logOdds.detach()));
                    }
                    yield Elementwise.sub(nll, Elementwise.scale(Reductions.sum(ratio), beta));
                }
                case SimpoConfig simpo -> {
                    Tensor x = Elementwise.scale(Elementwise.addScalar(Elementwise.sub(c, r),
                            (float) (-simpo.simpoGamma() / simpo.beta())), beta);
                    Tensor preference = Reductions.sum(PreferenceLosses.sigmoidLoss(x, simpo.labelSmoothing()));
                    if (simpo.cpoAlpha() == 0) { // TRL skips the NLL then (and logs it as 0; here it is not logged)
                        yield preference;
                    }
                    Tensor nll = nllTimesPairs(tokenLogProbs, n, nllTokens);
                    metrics.put("nll_loss", nll.detach());
                    yield Elementwise.add(preference, Elementwise.scale(nll, (float) simpo.cpoAlpha()));
                }
            };
            return new Parts(sum, metrics);
        }
    }

    /** N × the token-mean cross-entropy of the chosen rows: [1]. */
    private static Tensor nllTimesPairs(Tensor tokenLogProbs, int n, long nllTokens) {
        return Elementwise.scale(Reductions.sum(tokenLogProbs.slice(0, 0, n)), (float) (-(double) n / nllTokens));
    }

    /**
     * log(1 - e^x) for x < 0 through 1 - e^x = tanh(-x/2) (1 + e^x): no cancellation near x = 0, where 1 - e^x
     * would lose float32's digits (TRL switches to log(-expm1(x)) there, which the backends do not have).
     * x: any shape -> x's shape; -inf at x = 0 (a response of probability 1 has infinite odds), as in TRL.
     */
    static Tensor log1mexp(Tensor x) {
        Tensor tanh = Activations.apply(Activations.Kind.TANH, Elementwise.scale(x, -0.5f));
        return Elementwise.add(Elementwise.log(tanh), Elementwise.log(Elementwise.addScalar(Elementwise.exp(x), 1f)));
    }
}
