package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.PeftModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's causal-LM loss: labels shifted by one, cross-entropy summed over the positions whose label
 * is not -100. Divided by the label tokens of the whole optimizer step (as transformers does with
 * {@code num_items_in_batch}), gradient accumulation equals one large batch.
 *
 * <p>A mixture of experts whose config.json sets {@code output_router_logits} adds, in training, its routers'
 * load-balancing loss ({@link RouterBalance}) for each micro-batch, weighted by its label tokens (one micro-batch per
 * step: exactly transformers' loss).
 */
final class SftObjective implements Objective {
    private final PeftModel model;
    private final RouterBalance balance;
    private final TokenizedDataset data;
    private final long padId;

    SftObjective(PeftModel model, TokenizedDataset data, long padId) {
        int longest = 0;
        int at = 0;
        for (int i = 0; i < data.size(); i++) {
            Objective.requireInVocabulary(data.get(i), model, "example " + i);
            if (data.get(i).length() > longest) {
                longest = data.get(i).length();
                at = i;
            }
        }
        Objective.requireFits(longest, model, "example " + at);
        this.model = model;
        this.data = data;
        this.padId = padId;
        this.balance = RouterBalance.of(model);
    }

    @Override
    public int size() {
        return data.size();
    }

    @Override
    public boolean lossIsTokenCrossEntropy() {
        return true;
    }

    @Override
    public long fingerprint() {
        Fingerprint f = new Fingerprint();
        for (TokenizedExample e : data.examples()) {
            f.add(e.inputIds()).add(e.labels()).add(e.segments() == null ? new long[0]
                    : Arrays.stream(e.segments()).asLongStream().toArray());
        }
        return f.value();
    }

    @Override
    public List<String> metricNames() {
        return balance.metricNames(List.of());
    }

    @Override
    public long weight(int[] indices) {
        long n = 0;
        for (int i : indices) {
            n += data.get(i).lossTokens();
        }
        return n;
    }

    @Override
    public Loss lossSum(int[] indices) {
        List<TokenizedExample> rows = new ArrayList<>(indices.length);
        for (int i : indices) {
            rows.add(data.get(i));
        }
        Batch batch = Batch.collate(rows, padId);
        RouterBalance.Measured<Tensor> crossEntropy = balance.measure(() -> crossEntropySum(batch));
        return balance.addTo(new Loss(crossEntropy.value(), batch.tokens(), Map.of()), crossEntropy.aux(),
                batch.lossTokens());
    }

    /** The label tokens' cross-entropy, summed: (1). */
    private Tensor crossEntropySum(Batch batch) {
        // the fused head: no (tokens, vocab) logits; the same numbers as CrossEntropy.loss of model.forward
        Tensor tokenLogProbs = model.tokenLogProbs(batch.modelInput(), batch.targets());
        // the mean over valid rows, times their count, gives the sum
        return Elementwise.scale(CrossEntropy.lossFromLogProbs(tokenLogProbs, batch.targets()), batch.lossTokens());
    }
}
