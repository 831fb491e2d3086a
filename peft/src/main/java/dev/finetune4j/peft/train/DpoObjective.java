package dev.finetune4j.peft.train;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.PeftModel;

import java.util.List;

/**
 * DPO over preference pairs. The reference model is the policy as it was when this objective was created (TRL's
 * default: after SFT, the SFT model): its log-probabilities never change, so each pair's are computed once, in
 * eval mode, at creation, and kept; no second copy of the weights is held.
 */
final class DpoObjective extends PairObjective {
    private final PeftModel model;
    private final DpoConfig cfg;
    private final long padId;
    private final List<DpoTrainer.ResponseLogProbs> reference;
    private final RouterBalance balance;

    DpoObjective(PeftModel model, PreferenceDataset data, DpoConfig cfg, long padId) {
        super(data);
        PairSequences.requireUsable(data, model);
        this.model = model;
        this.cfg = cfg;
        this.padId = padId;
        this.reference = responseLogProbs(model, data, padId);
        this.balance = RouterBalance.of(model);
    }

    /**
     * The pairs' loss sum and reward sums, all on the model's device: the only host transfer is the upload of their
     * reference log-probabilities; the loop reads the sums back with the loss.
     */
    @Override
    public List<String> metricNames() {
        return balance.metricNames(DpoLoss.METRIC_SUMS);
    }

    @Override
    public Loss lossSum(int[] indices) {
        int n = indices.length;
        float[] referenceValues = new float[2 * n]; // chosen responses first, then rejected ones, as in the policy
        long tokens = 0;
        for (int k = 0; k < n; k++) {
            DpoTrainer.ResponseLogProbs r = reference.get(indices[k]);
            // exact: the reference values are float32 log-probabilities read back from the model
            referenceValues[k] = (float) r.chosen();
            referenceValues[n + k] = (float) r.rejected();
            tokens += data.get(indices[k]).tokens();
        }
        RouterBalance.Measured<Tensor> measured = balance.measure(() -> sequenceLogProbs(model, data, indices, padId));
        Tensor policy = measured.value();
        Tensor ref = Tensor.of(policy.device(), TensorScope.current(), referenceValues, Shape.of(2 * n));
        return balance.addTo(new Loss(DpoLoss.lossSum(cfg, policy, ref), tokens, DpoLoss.metricSums(cfg, policy, ref)),
                measured.aux(), n);
    }

    /**
     * Summed response log-probabilities (2N): the chosen sequences of the pairs first, then the rejected ones.
     * Uses the model as it is (adapter on or off, train or eval mode) and records autograd when enabled.
     */
    static Tensor sequenceLogProbs(PeftModel model, PreferenceDataset data, int[] indices, long padId) {
        return SequenceLogProbs.of(model, PairSequences.rows(data, indices, false), padId);
    }

    /** Each pair's summed response log-probabilities under the model as it is, in eval mode, without gradients. */
    static List<DpoTrainer.ResponseLogProbs> responseLogProbs(PeftModel model, PreferenceDataset data, long padId) {
        return SequenceLogProbs.frozen(model, data.size(),
                        i -> PairSequences.rows(data, new int[]{i}, false), padId).stream()
                .map(lp -> new DpoTrainer.ResponseLogProbs(lp[0], lp[1])).toList();
    }
}
