package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.models.decoder.DecoderConfig.NormPlacement;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.RmsNorm;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Residual layer, its norms where {@link NormPlacement} puts them:
 * <ul>
 *   <li>{@code PRE}: x + attn(norm(x)), then x + mlp(norm(x)), the MLP's norm being {@code post_attention_layernorm};</li>
 *   <li>{@code SANDWICH} (Gemma 2 and 3): x + norm(attn(norm(x))), then x + norm(mlp(norm(x))), the MLP's input norm
 *   {@code pre_feedforward_layernorm} and {@code post_attention_layernorm} the attention output's;</li>
 *   <li>{@code POST} (OLMo 2 and 3): x + norm(attn(x)), then x + norm(mlp(x)).</li>
 * </ul>
 * Granite scales each sub-block's output by {@code residual_multiplier} before adding it. The MLP is a
 * {@link SparseMoeBlock} in the sparse layers of a mixture of experts (Granite 4.0 H's adds its {@code shared_mlp}'s
 * output to the block's). Qwen3.5's linear-attention layers mix tokens
 * with a {@link GatedDeltaNet} ({@code linear_attn}), Granite 4.0 H's Mamba-2 layers with a {@link Mamba2Mixer}
 * ({@code mamba}), in place of self-attention ({@code self_attn}).
 */
public final class DecoderLayer extends Module {
    private final NormPlacement norms;
    private final float residualMultiplier;
    /** The MLP's name: {@code mlp}, Mixtral's {@code block_sparse_moe}, or Granite 4's {@code shared_mlp}. */
    private final String mlp;
    /** The dense MLP added to a sparse block's output ({@code shared_mlp}), or null. */
    private final String sharedMlp;
    /** The token mixer's name: {@code self_attn}, {@code linear_attn} (Qwen3.5) or {@code mamba} (Granite 4.0 H). */
    private final String mixer;

    /**
     * Layer {@code index}, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     * @param rotary the rotary frequencies of this layer's type, shared by the layers of that type
     * @param index the layer's index
     */
    public DecoderLayer(TensorScope scope, DecoderConfig c, RotaryFrequencies rotary, int index) {
        this.norms = c.norms();
        this.residualMultiplier = c.multipliers().residual();
        if (c.isLinearAttention(index)) {
            this.mixer = "linear_attn";
            registerChild(mixer, new GatedDeltaNet(scope, c, index));
        } else if (c.isMamba(index)) {
            this.mixer = "mamba";
            registerChild(mixer, new Mamba2Mixer(scope, c, index));
        } else {
            this.mixer = "self_attn";
            registerChild(mixer, new DecoderAttention(scope, c, rotary, index));
        }
        this.mlp = c.isSparse(index) ? c.moe().naming().block() : c.denseMlp().module();
        registerChild(mlp, c.isSparse(index) ? new SparseMoeBlock(scope, c) : new DecoderMlp(scope, c));
        this.sharedMlp = c.isSparse(index) && c.sharedMlpBesideExperts() ? c.denseMlp().module() : null;
        if (sharedMlp != null) {
            registerChild(sharedMlp, new DecoderMlp(scope, c));
        }
        if (norms != NormPlacement.POST) {
            registerChild("input_layernorm", norm(scope, c));
        }
        registerChild("post_attention_layernorm", norm(scope, c));
        if (norms == NormPlacement.SANDWICH) {
            registerChild("pre_feedforward_layernorm", norm(scope, c));
        }
        if (norms != NormPlacement.PRE) {
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
        Tensor normed = norms == NormPlacement.POST ? x : layer("input_layernorm").forward(x);
        Tensor attended = ((Block) child(mixer)).forward(normed, ctx);
        if (norms != NormPlacement.PRE) {
            attended = layer("post_attention_layernorm").forward(attended);
        }
        Tensor h = residual(x, attended);
        SpentActivations.free(attended, x, normed);
        Tensor normedH = switch (norms) {
            case PRE -> layer("post_attention_layernorm").forward(h);
            case SANDWICH -> layer("pre_feedforward_layernorm").forward(h);
            case POST -> h;
        };
        Tensor transformed = layer(mlp).forward(normedH);
        if (sharedMlp != null) {
            transformed = Elementwise.add(transformed, layer(sharedMlp).forward(normedH));
        }
        if (norms != NormPlacement.PRE) {
            transformed = layer("post_feedforward_layernorm").forward(transformed);
        }
        Tensor out = residual(h, transformed);
        SpentActivations.free(transformed, h, normedH);
        return out;
    }

    /** stream + branch, the branch scaled by Granite's residual multiplier. */
    private Tensor residual(Tensor stream, Tensor branch) {
        if (residualMultiplier == 1f) {
            return Elementwise.add(stream, branch);
        }
        Tensor scaled = Elementwise.scale(branch, residualMultiplier);
        Tensor sum = Elementwise.add(stream, scaled);
        SpentActivations.free(scaled, sum);
        return sum;
    }
}
