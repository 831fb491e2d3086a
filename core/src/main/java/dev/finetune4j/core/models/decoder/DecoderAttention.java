package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Attention;
import dev.finetune4j.core.autograd.Rotary;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.RmsNorm;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** Self-attention of the LLaMA family: q/k/v/o projections, optional q/k RMSNorm (Qwen3), rotary, GQA. */
public final class DecoderAttention extends Module implements Block {
    private final DecoderConfig config;
    private final RotaryFrequencies rotary;
    private final int layerIndex;

    /**
     * The projections of layer {@code layerIndex}, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     * @param rotary the rotary frequencies shared by all layers
     * @param layerIndex the layer's index, which selects its slot in a KV cache
     */
    public DecoderAttention(TensorScope scope, DecoderConfig c, RotaryFrequencies rotary, int layerIndex) {
        this.config = c;
        this.rotary = rotary;
        this.layerIndex = layerIndex;
        int q = c.numAttentionHeads() * c.headDim();
        int kv = c.numKeyValueHeads() * c.headDim();
        boolean qkvBias = c.attentionBias();
        // NOTE: Qwen2 puts biases on q/k/v but never on o_proj; LLaMA's attention_bias covers all four.
        boolean oBias = c.attentionBias() && !c.modelType().equals("qwen2");
        registerChild("q_proj", new Linear(scope, c.hiddenSize(), q, qkvBias));
        registerChild("k_proj", new Linear(scope, c.hiddenSize(), kv, qkvBias));
        registerChild("v_proj", new Linear(scope, c.hiddenSize(), kv, qkvBias));
        registerChild("o_proj", new Linear(scope, q, c.hiddenSize(), oBias));
        if (c.qkNorm()) {
            registerChild("q_norm", new RmsNorm(scope, c.headDim(), c.rmsNormEps()));
            registerChild("k_norm", new RmsNorm(scope, c.headDim(), c.rmsNormEps()));
        }
    }

    /** x: (B, T, C) -> (B, T, C). */
    @Override
    public Tensor forward(Tensor x, ForwardContext ctx) {
        int b = x.dim(0);
        int t = x.dim(1);
        int d = config.headDim();
        Tensor qProj = layer("q_proj").forward(x);
        Tensor q = heads(qProj, b, t, config.numAttentionHeads(), "q_norm", ctx);
        Tensor kProj = layer("k_proj").forward(x);
        Tensor k = heads(kProj, b, t, config.numKeyValueHeads(), "k_norm", ctx);
        Tensor vProj = layer("v_proj").forward(x);
        Tensor v = vProj.reshape(b, t, config.numKeyValueHeads(), d).permute(0, 2, 1, 3).contiguous();
        if (!config.qkNorm()) { // q_norm and k_norm's backward reads the projections
            SpentActivations.free(qProj, q);
            SpentActivations.free(kProj, k);
        }
        SpentActivations.free(vProj, v);
        if (ctx.cache() != null) {
            Tensor[] kv = ctx.cache().extend(layerIndex, k, v);
            k = kv[0];
            v = kv[1];
        }
        Tensor attn = Attention.scaledDotProduct(q, k, v, ctx.mask(), (float) (1 / Math.sqrt(d)));
        Tensor merged = attn.permute(0, 2, 1, 3).reshape(b, t, config.numAttentionHeads() * d);
        return layer("o_proj").forward(merged);
    }

    /** (B, T, H*D) -> (B, H, T, D), normalised (Qwen3) and rotated. */
    private Tensor heads(Tensor proj, int b, int t, int h, String normName, ForwardContext ctx) {
        Tensor x = proj.reshape(b, t, h, config.headDim());
        if (config.qkNorm()) {
            x = layer(normName).forward(x);
        }
        // rotary reads the transposed view as it is: its output is the only (B, H, T, D) copy kept
        return Rotary.apply(x.permute(0, 2, 1, 3), rotary.table(ctx.positions(), x.device()));
    }
}
