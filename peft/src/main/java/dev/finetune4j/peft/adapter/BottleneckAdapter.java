package dev.finetune4j.peft.adapter;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.AdapterLayer;

/**
 * A bottleneck adapter after a sublayer (Houlsby et al. 2019, section 2.1): h = f(x); h + up(act(down(h))), with
 * down (C -> C / reduction) and up (C / reduction -> C). The up projection starts at zero, so a fresh adapter is
 * the identity. Wraps either a unary layer (MLP, projection) or an attention block.
 *
 * <p>Thread safety: forward is safe concurrently; enabling is not.
 */
public final class BottleneckAdapter extends Module implements Layer, Block, AdapterLayer {
    private final Activations.Kind act;
    private boolean enabled = true;

    /**
     * An adapter after {@code baseLayer}, with zero weights until initialised or loaded.
     *
     * @param baseLayer the wrapped sublayer: a {@link Layer} or an attention {@link Block}
     * @param width the residual width C
     * @param reduction C divided by the bottleneck width
     * @param act the activation between the projections
     * @param scope where the adapter's weights live
     */
    public BottleneckAdapter(Module baseLayer, int width, int reduction, Activations.Kind act, TensorScope scope) {
        if (!(baseLayer instanceof Layer) && !(baseLayer instanceof Block)) {
            throw new IllegalArgumentException("a bottleneck adapter follows a layer or an attention block, not a "
                    + baseLayer.getClass().getSimpleName());
        }
        this.act = act;
        int bottleneck = Math.max(1, width / reduction);
        registerChild("base_layer", baseLayer);
        registerChild("adapter_down", new Linear(scope, width, bottleneck, true));
        registerChild("adapter_up", new Linear(scope, bottleneck, width, true));
    }

    /**
     * down (bottleneck, C).
     *
     * @return the down projection
     */
    public Linear down() {
        return (Linear) child("adapter_down");
    }

    /**
     * up (C, bottleneck).
     *
     * @return the up projection
     */
    public Linear up() {
        return (Linear) child("adapter_up");
    }

    /** x: (..., C) -> (..., C) for a wrapped unary layer. */
    @Override
    public Tensor forward(Tensor x) {
        return adapt(((Layer) baseLayer()).forward(x));
    }

    /** x: (B, T, C) -> (B, T, C) for a wrapped attention block. */
    @Override
    public Tensor forward(Tensor x, ForwardContext ctx) {
        return adapt(((Block) baseLayer()).forward(x, ctx));
    }

    private Tensor adapt(Tensor h) {
        if (!enabled) {
            return h;
        }
        return Elementwise.add(h, up().forward(Activations.apply(act, down().forward(h))));
    }

    @Override
    public Module baseLayer() {
        return child("base_layer");
    }

    @Override
    public void setEnabled(boolean on) {
        enabled = on;
    }
}
