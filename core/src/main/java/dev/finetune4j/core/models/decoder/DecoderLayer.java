package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.RmsNorm;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Pre-norm residual layer: x + attn(norm(x)), then x + mlp(norm(x)). Gemma 2 and 3 also normalise what each
 * sub-block returns before adding it: x + norm(attn(norm(x))), then x + norm(mlp(norm(x))), the MLP's input norm
 * being {@code pre_feedforward_layernorm} and {@code post_attention_layernorm} the attention output's. The MLP is a
 * {@link SparseMoeBlock} in the sparse layers of a mixture of experts.
 */
public final class DecoderLayer extends Module {
    private final boolean sandwich;
    /** The MLP's name: {@code mlp}, or Mixtral's {@code block_sparse_moe}. */
    private final String mlp;

    /**
     * Layer {@code index}, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     * @param rotary the rotary frequencies of this layer's type, shared by the layers of that type
     * @param index the layer's index
     */
    public DecoderLayer(TensorScope scope, DecoderConfig c, RotaryFrequencies rotary, int index) {
        this.sandwich = c.sandwichNorms();
        registerChild("self_attn", new DecoderAttention(scope, c, rotary, index));
        this.mlp = c.isSparse(index) ? c.moe().naming().block() : "mlp";
        registerChild(mlp, c.isSparse(index) ? new SparseMoeBlock(scope, c) : new DecoderMlp(scope, c));
        registerChild("input_layernorm", norm(scope, c));
        registerChild("post_attention_layernorm", norm(scope, c));
        if (sandwich) {
            registerChild("pre_feedforward_layernorm", norm(scope, c));
            registerChild("post_feedforward_layernorm", norm(scope, c));
        }
    }

    private static RmsNorm norm(TensorScope scope, DecoderConfig c) {
        return new RmsNorm(scope, c.hiddenSize(), c.rmsNormEps(), c.gemmaNorms());
    }

    /**
     * x: (B, T, C) -> (B, T, C).
     *
     * @param x the hidden states, (B, T, C)
     * @param ctx positions, masks and caches of this forward pass
     * @return the new hidden states, (B, T, C)
     */
    public Tensor forward(Tensor x, ForwardContext ctx) {
        Tensor normed = layer("input_layernorm").forward(x);
        Tensor attended = ((Block) child("self_attn")).forward(normed, ctx);
        if (sandwich) {
            attended = layer("post_attention_layernorm").forward(attended);
        }
        Tensor h = Elementwise.add(x, attended);
        SpentActivations.free(attended, x, normed);
        Tensor normedH = layer(sandwich ? "pre_feedforward_layernorm" : "post_attention_layernorm").forward(h);
        Tensor transformed = layer(mlp).forward(normedH);
        if (sandwich) {
            transformed = layer("post_feedforward_layernorm").forward(transformed);
        }
        Tensor out = Elementwise.add(h, transformed);
        SpentActivations.free(transformed, h, normedH);
        return out;
    }
}
