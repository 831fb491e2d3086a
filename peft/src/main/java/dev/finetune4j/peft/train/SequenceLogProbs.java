package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.PeftModel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Summed log-probabilities of the labelled tokens of whole sequences, what the preference objectives (DPO, KTO)
 * compare between the policy and its reference.
 */
final class SequenceLogProbs {
    private SequenceLogProbs() {
    }

    /**
     * One right-padded forward pass over {@code rows}: rows (B sequences) -> (B) sums of the log-probabilities of each
     * row's labelled tokens. Uses the model as it is (adapter on or off, train or eval mode) and records autograd
     * when enabled.
     */
    static Tensor of(PeftModel model, List<TokenizedExample> rows, long padId) {
        return Reductions.sum(perToken(model, Batch.collate(rows, padId)), 1, false);
    }

    /**
     * log p(label) of every position of {@code batch} under the model as it is (0 where a position has no label),
     * with autograd when enabled: (B, T).
     */
    static Tensor perToken(PeftModel model, Batch batch) {
        return model.tokenLogProbs(batch.modelInput(), batch.targets()).reshape(batch.batchSize(), batch.length());
    }

    /**
     * {@link #of} for each of {@code groups} groups of rows, in eval mode and without gradients, read back: the fixed
     * values a reference model gives once, before training.
     *
     * @param group the rows of group {@code g}, one forward pass each
     * @return per group, one value per row
     */
    static List<float[]> frozen(PeftModel model, int groups, IntFunction<List<TokenizedExample>> group, long padId) {
        boolean training = model.base().isTraining();
        model.train(false);
        List<float[]> out = new ArrayList<>(groups);
        try (var ng = Autograd.noGrad()) {
            for (int g = 0; g < groups; g++) {
                try (var scope = TensorScope.open()) {
                    out.add(of(model, group.apply(g), padId).toFloatArray());
                }
            }
        } finally {
            model.train(training);
        }
        return List.copyOf(out);
    }
}
