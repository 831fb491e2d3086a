package dev.finetune4j.peft.train;

import java.util.List;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.PeftModel;

import java.util.Arrays;

/**
 * ORPO or SimPO over preference pairs: one forward pass over the pairs' 2N sequences, no reference model. A pair is
 * the loss unit ({@link #weight}); see {@link ReferenceFreeLoss} for what that makes of gradient accumulation.
 */
final class ReferenceFreeObjective extends PairObjective {
    private final PeftModel model;
    private final ReferenceFreeConfig cfg;
    private final long padId;
    private final RouterBalance balance;

    ReferenceFreeObjective(PeftModel model, PreferenceDataset data, ReferenceFreeConfig cfg, long padId) {
        super(data);
        PairSequences.requireUsable(data, model);
        this.model = model;
        this.cfg = cfg;
        this.padId = padId;
        this.balance = RouterBalance.of(model);
    }

    /**
     * The pairs' loss sum and metric sums on the model's device: the only host transfer is the upload of each
     * response position's weight 1 / (response length), known from the token counts.
     */
    @Override
    public List<String> metricNames() {
        return balance.metricNames(ReferenceFreeLoss.metricNames(cfg));
    }

    @Override
    public Loss lossSum(int[] indices) {
        boolean nllReadsPrompt = cfg instanceof OrpoConfig;
        Batch batch = Batch.collate(PairSequences.rows(data, indices, nllReadsPrompt), padId);
        int n = indices.length;
        int t = batch.length();
        float[] weights = new float[2 * n * t];
        long nllTokens = 0;
        long tokens = 0;
        for (int k = 0; k < n; k++) {
            PreferenceExample e = data.get(indices[k]);
            int prompt = e.prompt().length;
            // position j predicts token j + 1: the response's tokens are predicted from positions prompt - 1 on
            Arrays.fill(weights, k * t + prompt - 1, k * t + prompt - 1 + e.chosen().length,
                    1f / e.chosen().length);
            Arrays.fill(weights, (n + k) * t + prompt - 1, (n + k) * t + prompt - 1 + e.rejected().length,
                    1f / e.rejected().length);
            nllTokens += nllReadsPrompt ? prompt + e.chosen().length - 1 : e.chosen().length;
            tokens += e.tokens();
        }
        RouterBalance.Measured<Tensor> measured = balance.measure(() -> SequenceLogProbs.perToken(model, batch));
        Tensor logProbs = measured.value();
        Tensor responseWeights = Tensor.of(logProbs.device(), TensorScope.current(), weights, Shape.of(2 * n, t));
        ReferenceFreeLoss.Parts parts = ReferenceFreeLoss.of(cfg, logProbs, responseWeights, nllTokens);
        return balance.addTo(new Loss(parts.sum(), tokens, parts.metricSums()), measured.aux(), n);
    }
}
