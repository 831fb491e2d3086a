package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * LFM2's short convolution ({@code conv}), as transformers' {@code Lfm2ShortConv} computes it: {@code in_proj} gives
 * three gates B, C and x (in that order along the channels); B x runs through a depthwise causal convolution of width
 * {@code conv_L_cache} without an activation; C times the result goes through {@code out_proj}. Padded tokens are
 * zeroed before {@code in_proj}, as transformers does. A generation's cache carries the convolution's last inputs,
 * its only state.
 */
final class ShortConv extends Module implements Block {
    private final int hidden;
    private final int layerIndex;

    /**
     * The layer's weights, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the model's configuration
     * @param layerIndex the layer's index, which selects its state in a generation's cache
     */
    ShortConv(TensorScope scope, DecoderConfig c, int layerIndex) {
        ShortConvConfig config = c.shortConv();
        this.hidden = c.hiddenSize();
        this.layerIndex = layerIndex;
        registerChild("in_proj", new Linear(scope, hidden, 3 * hidden, config.bias()));
        registerChild("conv", new CausalConv1d(scope, hidden, config.kernel(), config.bias(), false));
        registerChild("out_proj", new Linear(scope, hidden, hidden, config.bias()));
    }

    /** x: (B, T, C) -> (B, T, C). */
    @Override
    public Tensor forward(Tensor x, ForwardContext ctx) {
        Tensor keep = ctx.paddingKeep();
        Tensor projected = layer("in_proj").forward(keep == null ? x : Elementwise.mul(x, keep));
        Tensor b = projected.slice(2, 0, hidden);
        Tensor c = projected.slice(2, hidden, 2 * hidden);
        Tensor gated = Elementwise.mul(b, projected.slice(2, 2 * hidden, 3 * hidden));
        CausalConv1d conv = (CausalConv1d) child("conv");
        Tensor[] state = RecurrentLayers.convState(ctx.cache(), layerIndex, x, conv);
        Tensor mixed = conv.forward(gated, state == null ? null : state[0], ctx.segmentOffsets());
        if (state != null) {
            ctx.cache().advanceRecurrent(layerIndex, state, x.dim(1));
        }
        return layer("out_proj").forward(Elementwise.mul(c, mixed));
    }
}
