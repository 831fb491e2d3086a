package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.PeftClassifier;

import java.util.List;

/**
 * TRL's reward-model loss over preference pairs: each sequence (prompt, then response) gets one score from a
 * one-label sequence classifier, and a pair loses {@code -log σ(r_chosen - r_rejected - m)} with the pair's
 * {@link PreferenceExample#margin()} m (0 unless given), plus
 * {@code c (r_chosen + r_rejected)^2} with {@link RewardConfig#centerRewardsCoefficient()} c. Summed here and divided
 * by the pairs of the whole optimizer step, the mean TRL takes over a batch. Micro-batches hold the N chosen sequences,
 * then the N rejected ones, right-padded to the longest ({@link PaddedBatch}), as TRL's collator stacks them.
 */
final class RewardObjective extends PairObjective {
    private final PeftClassifier model;
    private final RewardConfig cfg;
    private final long padId;

    RewardObjective(PeftClassifier model, PreferenceDataset data, RewardConfig cfg, long padId) {
        super(data);
        if (model.numLabels() != 1) {
            throw new IllegalArgumentException("a reward model scores each sequence with one number, but this classifier "
                    + "has " + model.numLabels() + " labels: load it with ClassifierConfig.withLabels(List.of(\"reward\")) "
                    + "(num_labels 1)");
        }
        for (int i = 0; i < data.size(); i++) {
            for (boolean chosen : new boolean[]{true, false}) {
                Objective.requireReadable(data.get(i).sequence(chosen).inputIds(), model.spec(),
                        "pair " + i + " (prompt + " + (chosen ? "chosen" : "rejected") + ")");
            }
        }
        this.model = model;
        this.cfg = cfg;
        this.padId = padId;
    }

    @Override
    public List<String> metricNames() {
        return PreferenceLosses.REWARD_SUMS;
    }

    @Override
    public Loss lossSum(int[] indices) {
        int n = indices.length;
        List<long[]> rows = PairSequences.rows(data, indices, false).stream().map(TokenizedExample::inputIds).toList();
        PaddedBatch batch = PaddedBatch.of(rows, padId);
        Tensor rewards = model.forward(batch.inputIds(), batch.attentionMask()).reshape(2 * n);
        try (var f32 = Precision.F32.use()) {
            Tensor chosen = rewards.slice(0, 0, n);
            Tensor rejected = rewards.slice(0, n, 2 * n);
            Tensor losses = PreferenceLosses.sigmoidLoss(Elementwise.sub(Elementwise.sub(chosen, rejected),
                    margins(indices, rewards)), 0);
            if (cfg.centerRewardsCoefficient() > 0) {
                Tensor sum = Elementwise.add(chosen, rejected);
                losses = Elementwise.add(losses, Elementwise.scale(Elementwise.mul(sum, sum),
                        (float) cfg.centerRewardsCoefficient()));
            }
            return new Loss(Reductions.sum(losses), batch.tokens(), PreferenceLosses.rewardSums(rewards));
        }
    }

    /** The pairs' margins, on the scores' device. margins: (N) float32. */
    private Tensor margins(int[] indices, Tensor rewards) {
        float[] margins = new float[indices.length];
        for (int i = 0; i < indices.length; i++) {
            margins[i] = (float) data.get(indices[i]).margin();
        }
        return Tensor.of(rewards.device(), TensorScope.current(), margins, Shape.of(margins.length));
    }
}
