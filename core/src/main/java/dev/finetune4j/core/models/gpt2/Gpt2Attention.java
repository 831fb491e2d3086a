package dev.finetune4j.core.models.gpt2;

import dev.finetune4j.core.autograd.Attention;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * GPT-2 attention: one fused c_attn (Conv1D, C -> 3C) split into q, k, v; c_proj back to C. In training the
 * probabilities and the output are dropped out ({@code attn_pdrop}, {@code resid_pdrop}).
 */
public final class Gpt2Attention extends Module implements Block {
    private final Gpt2Config config;
    private final int layerIndex;

    /**
     * The attention's projections of layer {@code layerIndex}, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     * @param layerIndex the layer's index, which selects its slot in a KV cache
     */
    public Gpt2Attention(TensorScope scope, Gpt2Config c, int layerIndex) {
        this.config = c;
        this.layerIndex = layerIndex;
        registerChild("c_attn", new Linear(scope, c.nEmbd(), 3 * c.nEmbd(), true, true));
        registerChild("c_proj", new Linear(scope, c.nEmbd(), c.nEmbd(), true, true));
    }

    /** x: (B, T, C) -> (B, T, C). */
    @Override
    public Tensor forward(Tensor x, ForwardContext ctx) {
        int b = x.dim(0);
        int t = x.dim(1);
        int c = config.nEmbd();
        Tensor qkv = layer("c_attn").forward(x);
        Tensor q = heads(qkv.slice(2, 0, c), b, t);
        Tensor k = heads(qkv.slice(2, c, 2 * c), b, t);
        Tensor v = heads(qkv.slice(2, 2 * c, 3 * c), b, t);
        if (ctx.cache() != null) {
            Tensor[] kv = ctx.cache().extend(layerIndex, k, v);
            k = kv[0];
            v = kv[1];
        }
        int d = c / config.nHead();
        Tensor attn = Attention.scaledDotProduct(q, k, v, ctx.mask(), (float) (1 / Math.sqrt(d)), 0f, null,
                ctx.attentionDropout(config.dropouts().attention()));
        return ctx.dropout(layer("c_proj").forward(attn.permute(0, 2, 1, 3).reshape(b, t, c)),
                config.dropouts().residual());
    }

    private Tensor heads(Tensor x, int b, int t) {
        return x.reshape(b, t, config.nHead(), config.nEmbd() / config.nHead()).permute(0, 2, 1, 3).contiguous();
    }
}
