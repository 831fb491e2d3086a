package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.PeftModel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * DPO over preference pairs. The reference model is the policy with its adapter disabled (no second copy);
 * its log-probabilities never change, so each pair's are computed once, in eval mode, and kept.
 */
final class DpoObjective implements Objective {
    private final PeftModel model;
    private final PreferenceDataset data;
    private final DpoConfig cfg;
    private final long padId;
    private final double[][] reference; // [pair] -> {chosen, rejected}, filled lazily

    DpoObjective(PeftModel model, PreferenceDataset data, DpoConfig cfg, long padId) {
        this.model = model;
        this.data = data;
        this.cfg = cfg;
        this.padId = padId;
        this.reference = new double[data.size()][];
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
            double[] ref = referenceLogProbs(indices[k]);
            refChosen[k] = ref[0];
            refRejected[k] = ref[1];
        }
        Tensor policy = sequenceLogProbs(indices);
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
    Tensor sequenceLogProbs(int[] indices) {
        List<TokenizedExample> rows = new ArrayList<>(2 * indices.length);
        for (int i : indices) {
            rows.add(data.get(i).sequence(true));
        }
        for (int i : indices) {
            rows.add(data.get(i).sequence(false));
        }
        Batch batch = Batch.collate(rows, padId);
        Tensor logits = model.forward(batch.modelInput());
        int b = batch.batchSize();
        int t = batch.length();
        Tensor tokenLogProbs = CrossEntropy.tokenLogProbs(logits.reshape(b * t, logits.dim(2)), batch.targets());
        return Reductions.sum(tokenLogProbs.reshape(b, t), 1, false);
    }

    /** The reference (adapter disabled, eval mode) log-probabilities {chosen, rejected} of pair {@code index}, cached. */
    double[] referenceLogProbs(int index) {
        if (reference[index] == null) {
            boolean training = model.base().isTraining();
            model.train(false);
            try (var scope = TensorScope.open(); var ng = Autograd.noGrad(); var off = model.disableAdapter()) {
                float[] lp = sequenceLogProbs(new int[]{index}).toFloatArray();
                reference[index] = new double[]{lp[0], lp[1]};
            } catch (Exception e) {
                throw e instanceof RuntimeException r ? r : new IllegalStateException("cannot disable the adapter: " + e.getMessage(), e);
            } finally {
                model.train(training);
            }
        }
        return reference[index];
    }
}
