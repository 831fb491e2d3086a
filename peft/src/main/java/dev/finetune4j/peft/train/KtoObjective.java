package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.PeftModel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * KTO over unpaired rows. As for {@link DpoObjective}, the reference is the policy as it was when this objective was
 * created: each row's reference log-probabilities (of its completion, and of its KL sequence) are computed once, in
 * eval mode, at creation, and kept; no second copy of the weights is held.
 *
 * <p>The KL sequence of row i is its prompt with the completion of row {@link #klPartners partner(i)}, fixed at
 * creation: TRL's pairing (see there). Its policy log-probability is computed in each step without gradients, as TRL
 * does, so the estimate is detached.
 */
final class KtoObjective implements Objective {
    private final PeftModel model;
    private final KtoDataset data;
    private final KtoConfig cfg;
    private final long padId;
    private final int[] partners;
    /** Per row: the reference's log-probability of its completion [0] and of its KL sequence [1]. */
    private final List<float[]> reference;
    private final RouterBalance balance;

    /**
     * @param chunk the rows that share KL partners: the micro-batch size, TRL's {@code per_device_train_batch_size}
     */
    KtoObjective(PeftModel model, KtoDataset data, KtoConfig cfg, long padId, int chunk) {
        if (chunk < 2) {
            throw new IllegalArgumentException("KTO needs a micro-batch of at least 2 rows, got microBatchSize " + chunk
                    + ": its KL estimate pairs each prompt with another row's completion of the same micro-batch, and "
                    + "with one row it would equal that row's own reward (TRL refuses it too); set microBatchSize >= 2");
        }
        int[] partnerOf = klPartners(data.size(), chunk);
        for (int i = 0; i < data.size(); i++) {
            KtoExample e = data.get(i);
            long[] borrowed = data.get(partnerOf[i]).completion();
            Objective.requireFits(e.prompt().length + Math.max(e.completion().length, borrowed.length), model,
                    "row " + i + " (prompt + the longer of its completion and its KL completion, row " + partnerOf[i] + "'s)");
            Objective.requireInVocabulary(e.sequence(e.completion()), model, "row " + i + " (prompt + completion)");
        }
        this.model = model;
        this.data = data;
        this.cfg = cfg;
        this.padId = padId;
        this.balance = RouterBalance.of(model);
        this.partners = partnerOf;
        this.reference = SequenceLogProbs.frozen(model, data.size(), i -> List.of(completionSequence(i), klSequence(i)), padId);
    }

    /**
     * The row whose completion each row's KL sequence takes, TRL's {@code _get_kl_dataset}: the rows are cut, in
     * data set order, into chunks of {@code chunk} rows (TRL maps its data set in batches of
     * {@code per_device_train_batch_size}, before any shuffling, and then reads it in order), and within a chunk
     * each row takes the completion of the row before it, the first row that of the last. NOTE: where the last chunk
     * has one row, TRL pairs it with its own completion (a matched pair, so its KL term is its own reward); here it
     * joins the chunk before it instead, so every pair is mismatched.
     *
     * @return per row, the index of the row whose completion it borrows
     */
    static int[] klPartners(int rows, int chunk) {
        int[] partner = new int[rows];
        int start = 0;
        while (start < rows) {
            int end = Math.min(start + chunk, rows);
            if (rows - end == 1) {
                end = rows; // a lone last row joins this chunk
            }
            partner[start] = end - 1;
            for (int i = start + 1; i < end; i++) {
                partner[i] = i - 1;
            }
            start = end;
        }
        return partner;
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
    public long fingerprint() {
        Fingerprint f = new Fingerprint();
        for (int i = 0; i < data.size(); i++) {
            KtoExample e = data.get(i);
            f.add(e.prompt()).add(e.completion()).add(new long[]{e.desirable() ? 1 : 0, partners[i]});
        }
        return f.value();
    }

    @Override
    public long weight(int[] indices) {
        return indices.length;
    }

    /**
     * The rows' loss sum and metric sums, all on the model's device: the only host transfer besides the forward
     * passes' inputs is one upload of their reference log-probabilities and labels; the loop reads the sums back with
     * the loss.
     */
    @Override
    public List<String> metricNames() {
        return balance.metricNames(KtoLoss.METRIC_SUMS);
    }

    @Override
    public Loss lossSum(int[] indices) {
        Inputs in = inputs(indices);
        return loss(in, KtoLoss.klEstimate(in.policyKl(), in.referenceKl()));
    }

    @Override
    public Map<String, Double> metrics(Map<String, Double> sums, long weight) {
        Map<String, Double> out = KtoLoss.metrics(sums, weight);
        if (sums.containsKey(RouterBalance.METRIC)) {
            out.put(RouterBalance.METRIC, sums.get(RouterBalance.METRIC) / weight);
        }
        return out;
    }

    /**
     * What the loss of a micro-batch is formed from, on the device: the policy's log-probabilities of the rows'
     * completions (N, autograd) and of their KL sequences (N, no autograd), the reference's of both (N each), the
     * labels (N, 1 desirable, 0 undesirable), and the routers' load-balancing loss of the completions' pass (as TRL
     * takes it; null without {@code output_router_logits}).
     */
    record Inputs(Tensor policy, Tensor policyKl, Tensor reference, Tensor referenceKl, Tensor desirable, long tokens,
                  Tensor routerBalance) {
    }

    /** The forward passes of {@code indices} and the upload of their fixed values, in the caller's scope. */
    Inputs inputs(int[] indices) {
        int n = indices.length;
        float[] fixed = new float[3 * n]; // reference completion, reference KL, label: one upload
        List<TokenizedExample> rows = new ArrayList<>(n);
        List<TokenizedExample> klRows = new ArrayList<>(n);
        long tokens = 0;
        for (int k = 0; k < n; k++) {
            int i = indices[k];
            fixed[k] = reference.get(i)[0];
            fixed[n + k] = reference.get(i)[1];
            fixed[2 * n + k] = data.get(i).desirable() ? 1 : 0;
            rows.add(completionSequence(i));
            klRows.add(klSequence(i));
            tokens += rows.getLast().length() + klRows.getLast().length();
        }
        RouterBalance.Measured<Tensor> measured = balance.measure(() -> SequenceLogProbs.of(model, rows, padId));
        Tensor policy = measured.value();
        Tensor policyKl;
        try (var ng = Autograd.noGrad()) {
            policyKl = SequenceLogProbs.of(model, klRows, padId);
        }
        Tensor values = Tensor.of(policy.device(), TensorScope.current(), fixed, Shape.of(3 * n));
        return new Inputs(policy, policyKl, values.slice(0, 0, n), values.slice(0, n, 2 * n),
                values.slice(0, 2 * n, 3 * n), tokens, measured.aux());
    }

    /** The loss and metric sums of {@code in} with the KL estimate {@code kl} ([1], detached). */
    Loss loss(Inputs in, Tensor kl) {
        Loss loss = new Loss(KtoLoss.lossSum(cfg, in.policy(), in.reference(), in.desirable(), kl), in.tokens(),
                KtoLoss.metricSums(cfg, in.policy(), in.reference(), in.desirable(), kl));
        return balance.addTo(loss, in.routerBalance(), in.policy().dim(0));
    }

    /** Row {@code i}'s prompt and completion. */
    private TokenizedExample completionSequence(int i) {
        return data.get(i).sequence(data.get(i).completion());
    }

    /** Row {@code i}'s prompt and its KL partner's completion. */
    private TokenizedExample klSequence(int i) {
        return data.get(i).sequence(data.get(partners[i]).completion());
    }
}
