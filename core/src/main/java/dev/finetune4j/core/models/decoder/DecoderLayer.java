package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.RmsNorm;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** Pre-norm residual layer: x + attn(norm(x)), then x + mlp(norm(x)). */
public final class DecoderLayer extends Module {

    /**
     * Layer {@code index}, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     * @param rotary the rotary frequencies shared by all layers
     * @param index the layer's index
     */
    public DecoderLayer(TensorScope scope, DecoderConfig c, RotaryFrequencies rotary, int index) {
        registerChild("self_attn", new DecoderAttention(scope, c, rotary, index));
        registerChild("mlp", new DecoderMlp(scope, c));
        registerChild("input_layernorm", new RmsNorm(scope, c.hiddenSize(), c.rmsNormEps()));
        registerChild("post_attention_layernorm", new RmsNorm(scope, c.hiddenSize(), c.rmsNormEps()));
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
        Tensor h = Elementwise.add(x, attended);
        SpentActivations.free(attended, x, normed);
        Tensor normedH = layer("post_attention_layernorm").forward(h);
        Tensor transformed = layer("mlp").forward(normedH);
        Tensor out = Elementwise.add(h, transformed);
        SpentActivations.free(transformed, h, normedH);
        return out;
    }
}
