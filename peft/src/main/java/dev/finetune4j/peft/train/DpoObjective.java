package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.PeftModel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * DPO over preference pairs. The reference model is the policy as it was when this objective was created (TRL's
 * default: after SFT, the SFT model): its log-probabilities never change, so each pair's are computed once, in
 * eval mode, at creation, and kept; no second copy of the weights is held.
 */
final class DpoObjective implements Objective {
    private final PeftModel model;
    private final PreferenceDataset data;
    private final DpoConfig cfg;
    private final long padId;
    private final List<DpoTrainer.ResponseLogProbs> reference;

    DpoObjective(PeftModel model, PreferenceDataset data, DpoConfig cfg, long padId) {
        for (int i = 0; i < data.size(); i++) {
            PreferenceExample e = data.get(i);
            Objective.requireFits(e.prompt().length + Math.max(e.chosen().length, e.rejected().length), model,
                    "pair " + i + " (prompt + longer response)");
        }
        this.model = model;
        this.data = data;
        this.cfg = cfg;
        this.padId = padId;
        this.reference = responseLogProbs(model, data, padId);
    }

    @Override
    public boolean dropout() {
        return false;
    }

    @Override
    public int size() {
        return data.size();
    }

    @Override
    public long weight(int[] indices) {
        return indices.length;
    }

    @Override
    public Loss lossSum(int[] indices) {
        int n = indices.length;
        double[] refChosen = new double[n];
        double[] refRejected = new double[n];
        for (int k = 0; k < n; k++) {
            refChosen[k] = reference.get(indices[k]).chosen();
            refRejected[k] = reference.get(indices[k]).rejected();
        }
        Tensor policy = sequenceLogProbs(model, data, indices, padId);
        Tensor sum = DpoLoss.lossSum(cfg, policy, refChosen, refRejected);
        float[] p = policy.toFloatArray();
        double margins = 0;
        double chosenRewards = 0;
        double rejectedRewards = 0;
        double correct = 0;
        long tokens = 0;
        for (int k = 0; k < n; k++) {
            double chosen = cfg.beta() * (p[k] - refChosen[k]);
            double rejected = cfg.beta() * (p[n + k] - refRejected[k]);
            chosenRewards += chosen;
            rejectedRewards += rejected;
            margins += chosen - rejected;
            correct += chosen > rejected ? 1 : 0;
            tokens += data.get(indices[k]).tokens();
        }
        Map<String, Double> metrics = new HashMap<>();
        metrics.put("rewards/chosen", chosenRewards);
        metrics.put("rewards/rejected", rejectedRewards);
        metrics.put("rewards/margins", margins);
        metrics.put("rewards/accuracy", correct);
        return new Loss(sum, tokens, metrics);
    }

    /**
     * Summed response log-probabilities (2N): the chosen sequences of the pairs first, then the rejected ones.
     * Uses the model as it is (adapter on or off, train or eval mode) and records autograd when enabled.
     */
    static Tensor sequenceLogProbs(PeftModel model, PreferenceDataset data, int[] indices, long padId) {
        List<TokenizedExample> rows = new ArrayList<>(2 * indices.length);
        for (int i : indices) {
            rows.add(data.get(i).sequence(true));
        }
        for (int i : indices) {
            rows.add(data.get(i).sequence(false));
        }
        Batch batch = Batch.collate(rows, padId);
        Tensor tokenLogProbs = model.tokenLogProbs(batch.modelInput(), batch.targets());
        return Reductions.sum(tokenLogProbs.reshape(batch.batchSize(), batch.length()), 1, false);
    }

    /** Each pair's summed response log-probabilities under the model as it is, in eval mode, without gradients. */
    static List<DpoTrainer.ResponseLogProbs> responseLogProbs(PeftModel model, PreferenceDataset data, long padId) {
        boolean training = model.base().isTraining();
        model.train(false);
        List<DpoTrainer.ResponseLogProbs> out = new ArrayList<>(data.size());
        try (var ng = Autograd.noGrad()) {
            for (int i = 0; i < data.size(); i++) {
                try (var scope = TensorScope.open()) {
                    float[] lp = sequenceLogProbs(model, data, new int[]{i}, padId).toFloatArray();
                    out.add(new DpoTrainer.ResponseLogProbs(lp[0], lp[1]));
                }
            }
        } finally {
            model.train(training);
        }
        return List.copyOf(out);
    }
}
