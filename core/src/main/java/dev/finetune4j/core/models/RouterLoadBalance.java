package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;

/**
 * The load-balancing loss of a mixture of experts' routers (Switch Transformer, Fedus et al. 2021, eq. 4), as
 * transformers adds it to the loss with {@code output_router_logits}: over the sparse layers of the forward passes run
 * while this collector is open on the thread, {@code E * sum_e f_e P_e}, where {@code f_e} is the share of (token,
 * slot) picks that went to expert e and {@code P_e} the mean routing probability of e, both over the tokens the
 * attention mask keeps. Only {@code P} carries a gradient, into the routers.
 *
 * <pre>{@code
 * try (RouterLoadBalance balance = RouterLoadBalance.collect()) {
 *     Tensor logits = model.forward(input);
 *     Tensor aux = balance.loss();     // null when no sparse layer ran
 * }
 * }</pre>
 *
 * <p>Thread safety: confined to the thread that opened it, as the forward passes it collects are.
 */
public final class RouterLoadBalance implements AutoCloseable {
    private static final ThreadLocal<RouterLoadBalance> CURRENT = new ThreadLocal<>();

    private final RouterLoadBalance outer;
    private final List<Layer> layers = new ArrayList<>();
    /** The tokens the current forward pass keeps, flattened (B * T), or null for all of them. */
    private long[] mask;
    private boolean closed;

    /** One sparse layer of one pass: its (N, E) probabilities, each token's picks, and the pass's token mask. */
    private record Layer(Tensor probabilities, long[] chosen, int experts, long[] mask) {
    }

    private RouterLoadBalance(RouterLoadBalance outer) {
        this.outer = outer;
    }

    /**
     * Starts collecting the routers of the forward passes this thread runs until {@link #close()}.
     *
     * @return the collector
     */
    public static RouterLoadBalance collect() {
        RouterLoadBalance balance = new RouterLoadBalance(CURRENT.get());
        CURRENT.set(balance);
        return balance;
    }

    /**
     * The collector open on this thread, for the sparse blocks.
     *
     * @return it, or null when none is open
     */
    public static RouterLoadBalance current() {
        return CURRENT.get();
    }

    /** A forward pass starts: which of its B x T tokens count ({@code ModelInput.attentionMask}, null for all). */
    void tokens(long[][] attentionMask, int batch, int length) {
        if (attentionMask == null) {
            mask = null;
            return;
        }
        mask = new long[Math.multiplyExact(batch, length)];
        for (int b = 0; b < batch; b++) {
            long[] row = attentionMask[b];
            // a mask over cached and new positions: the new tokens are its last ones
            System.arraycopy(row, row.length - length, mask, b * length, length);
        }
    }

    /**
     * Records one sparse layer of the current pass (called by the sparse blocks).
     *
     * @param probabilities the routing probabilities, (N, E) float32, with their gradient
     * @param chosen each token's k picks as {@code token * E + expert}, N * k entries
     * @param experts E
     */
    public void add(Tensor probabilities, long[] chosen, int experts) {
        if (mask != null && mask.length != probabilities.dim(0)) {
            throw new IllegalStateException("the pass's attention mask covers " + mask.length + " tokens, but a sparse "
                    + "layer routed " + probabilities.dim(0));
        }
        layers.add(new Layer(probabilities, chosen, experts, mask));
    }

    /**
     * The load-balancing loss of what was collected (not yet scaled by {@code router_aux_loss_coef}).
     *
     * @return a scalar tensor with its gradient into the routers, or null when no sparse layer ran or every token
     *         was masked
     */
    public Tensor loss() {
        if (layers.isEmpty()) {
            return null;
        }
        int experts = layers.getFirst().experts();
        double[] picks = new double[experts];
        long counted = 0;
        Tensor probabilitySums = null;
        for (Layer l : layers) {
            int tokens = l.probabilities().dim(0);
            int k = l.chosen().length / tokens;
            float[] keep = new float[tokens];
            for (int n = 0; n < tokens; n++) {
                keep[n] = l.mask() == null || l.mask()[n] != 0 ? 1f : 0f;
                counted += (long) keep[n];
                for (int j = 0; j < k && keep[n] != 0; j++) {
                    picks[(int) (l.chosen()[n * k + j] % experts)]++;
                }
            }
            Tensor kept = Tensor.of(l.probabilities().device(), TensorScope.current(), keep, Shape.of(tokens, 1));
            Tensor sums = Reductions.sum(Elementwise.mul(l.probabilities(), kept), 0, false);
            probabilitySums = probabilitySums == null ? sums : Elementwise.add(probabilitySums, sums);
        }
        if (counted == 0) {
            return null; // every token masked: nothing to balance
        }
        float[] pickShares = new float[experts];
        for (int e = 0; e < experts; e++) {
            pickShares[e] = (float) (picks[e] / counted);
        }
        Tensor shares = Tensor.of(probabilitySums.device(), TensorScope.current(), pickShares, Shape.of(experts));
        return Elementwise.scale(Reductions.sum(Elementwise.mul(probabilitySums, shares)), (float) experts / counted);
    }

    /** Stops collecting on this thread; the collector opened before it, if any, collects again. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            CURRENT.set(outer);
        }
    }
}
