package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;


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
    /** The tokens the current forward pass keeps, flattened (B * T), or null for all of them. */
    private long[] mask;
    private int experts;
    /** Where the routers ran. */
    private Device device;
    /** Per expert, the kept (token, slot) picks so far. */
    private double[] picks;
    /** The kept tokens of all layers so far (a token counts once per sparse layer). */
    private long counted;
    /** Per expert, the sum of the kept tokens' probabilities, with its gradient: passes that record autograd. */
    private Tensor probabilitySums;
    /**
     * The same sums of passes without autograd (evaluations), taken from the host copy at once: such a pass frees a
     * layer's tensors when the layer returns.
     */
    private double[] hostProbabilitySums;
    private boolean closed;

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
     * @param onHost the same probabilities on the host, row-major
     * @param chosen each token's k picks as {@code token * E + expert}, N * k entries
     * @param numExperts E
     */
    public void add(Tensor probabilities, float[] onHost, long[] chosen, int numExperts) {
        int tokens = probabilities.dim(0);
        if (mask != null && mask.length != tokens) {
            throw new IllegalStateException("the pass's attention mask covers " + mask.length + " tokens, but a sparse "
                    + "layer routed " + tokens);
        }
        if (picks == null) {
            experts = numExperts;
            device = probabilities.device();
            picks = new double[numExperts];
            hostProbabilitySums = new double[numExperts];
        }
        int k = chosen.length / tokens;
        float[] keep = new float[tokens];
        for (int n = 0; n < tokens; n++) {
            keep[n] = mask == null || mask[n] != 0 ? 1f : 0f;
            if (keep[n] != 0) {
                counted++;
                for (int j = 0; j < k; j++) {
                    picks[(int) (chosen[n * k + j] % numExperts)]++;
                }
            }
        }
        if (!Autograd.isEnabled()) {
            for (int n = 0; n < tokens; n++) {
                for (int e = 0; e < numExperts && keep[n] != 0; e++) {
                    hostProbabilitySums[e] += onHost[n * numExperts + e];
                }
            }
            return;
        }
        Tensor kept = Tensor.of(probabilities.device(), TensorScope.current(), keep, Shape.of(tokens, 1));
        Tensor sums = Reductions.sum(Elementwise.mul(probabilities, kept), 0, false);
        probabilitySums = probabilitySums == null ? sums : Elementwise.add(probabilitySums, sums);
    }

    /**
     * The load-balancing loss of what was collected (not yet scaled by {@code router_aux_loss_coef}).
     *
     * @return a scalar tensor with its gradient into the routers, or null when no sparse layer ran or every token
     *         was masked
     */
    public Tensor loss() {
        if (counted == 0) {
            return null; // no sparse layer ran, or every token was masked: nothing to balance
        }
        float[] pickShares = new float[experts];
        float[] evaluated = new float[experts];
        for (int e = 0; e < experts; e++) {
            pickShares[e] = (float) (picks[e] / counted);
            evaluated[e] = (float) hostProbabilitySums[e];
        }
        TensorScope scope = TensorScope.current();
        Tensor sums = Tensor.of(device, scope, evaluated, Shape.of(experts));
        if (probabilitySums != null) {
            sums = Elementwise.add(probabilitySums, sums);
        }
        Tensor shares = Tensor.of(device, scope, pickShares, Shape.of(experts));
        return Elementwise.scale(Reductions.sum(Elementwise.mul(sums, shares)), (float) experts / counted);
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
