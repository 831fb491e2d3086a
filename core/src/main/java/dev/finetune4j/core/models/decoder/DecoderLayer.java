package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.models.decoder.DecoderConfig.NormPlacement;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.LayerNorm;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.RmsNorm;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Residual layer, its norms where {@link NormPlacement} puts them ({@link DecoderConfig#normNames} names them):
 * <ul>
 *   <li>{@code PRE}: x + attn(norm(x)), then x + mlp(norm(x)), the MLP's norm being {@code post_attention_layernorm};</li>
 *   <li>{@code SANDWICH} (Gemma 2 and 3, GLM-4): x + norm(attn(norm(x))), then x + norm(mlp(norm(x)));</li>
 *   <li>{@code POST} (OLMo 2 and 3): x + norm(attn(x)), then x + norm(mlp(x));</li>
 *   <li>{@code PARALLEL} (Cohere): x + attn(norm(x)) + mlp(norm(x)).</li>
 * </ul>
 * Granite scales each sub-block's output by {@code residual_multiplier} before adding it; in training Phi-3, StarCoder2
 * and Seed-OSS drop it out first ({@link dev.finetune4j.core.models.Dropouts#residual}). The MLP is a
 * {@link SparseMoeBlock} in the sparse layers of a mixture of experts (Granite 4.0 H's adds its {@code shared_mlp}'s
 * output to the block's). Qwen3.5's linear-attention layers mix tokens
 * with a {@link GatedDeltaNet} ({@code linear_attn}), Granite 4.0 H's Mamba-2 layers with a {@link Mamba2Mixer}
 * ({@code mamba}), LFM2's convolution layers with a {@link ShortConv} ({@code conv}), in place of self-attention
 * ({@code self_attn}). Falcon-H1's layers run a {@link Mamba2Mixer} beside the attention on the same normed input
 * ({@link ParallelHybridConfig}): x + attention_out attn(attention_in norm(x)) + ssm_out mamba(norm(x)). A
 * Nemotron-H layer is one block, its {@code mixer} ({@link BlockPattern}): x + mixer(norm(x)), the mixer a Mamba-2
 * mixer or an attention (without MLP) or an MLP or a mixture of experts (without token mixer). A Gemma 4 layer
 * ({@link Gemma4Config}) then adds its per-layer input's branch, h + norm(proj(act(gate(h)) * input)), and scales
 * its whole output by its stored {@code layer_scalar}. With {@code enable_moe_block} its mixture of experts runs beside
 * the MLP: h + norm(norm_1(mlp(norm(h))) + norm_2(experts(norm_2'(h)))), the router reading h itself
 * ({@link SparseMoeBlock#mix}).
 */
public final class DecoderLayer extends Module {
    /** Nemotron-H's name of a layer's one block. */
    private static final String BLOCK = "mixer";
    /** Gemma 4's norms around the mixture beside the MLP: after the MLP, after the experts, before the experts. */
    private static final String MLP_OUTPUT_1 = "post_feedforward_layernorm_1";
    private static final String EXPERTS_OUTPUT = "post_feedforward_layernorm_2";
    private static final String EXPERTS_INPUT = "pre_feedforward_layernorm_2";

    private final DecoderConfig.LayerNormNames norms;
    /** Whether attention and MLP both read the input's norm and add to the same stream (Cohere). */
    private final boolean parallel;
    private final float residualMultiplier;
    private final float residualDropout;
    /**
     * The MLP's name: {@code mlp}, Mixtral's {@code block_sparse_moe}, Granite 4's {@code shared_mlp}, LFM2's
     * {@code feed_forward} or Nemotron-H's {@code mixer}; null in a Nemotron-H layer that mixes tokens.
     */
    private final String mlp;
    /** The dense MLP added to a sparse block's output ({@code shared_mlp}), or null. */
    private final String sharedMlp;
    /** Gemma 4's mixture beside the MLP, its router and experts this layer's children; null elsewhere. */
    private final SparseMoeBlock expertsBesideMlp;
    /**
     * The token mixer's name: {@code self_attn}, {@code linear_attn} (Qwen3.5), {@code mamba} (Granite 4.0 H),
     * {@code conv} (LFM2) or {@code mixer} (Nemotron-H); null in a Nemotron-H MLP or mixture layer.
     */
    private final String mixer;
    /** Falcon-H1's multipliers of the attention and the {@code mamba} mixer beside it; null in other families. */
    private final ParallelHybridConfig parallelHybrid;
    /** Gemma 4's per-layer input branch's activation; null where the layer has none. */
    private final Activations.Kind perLayerInputAct;
    /** Whether the output is scaled by {@code layer_scalar} (Gemma 4). */
    private final boolean layerScalar;
    /** The layer's index in the stack. */
    private final int index;

    /**
     * Layer {@code index}, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     * @param rotary the rotary frequencies of this layer's type, shared by the layers of that type
     * @param index the layer's index
     */
    public DecoderLayer(TensorScope scope, DecoderConfig c, RotaryFrequencies rotary, int index) {
        this.index = index;
        this.norms = c.normNames(index);
        this.residualMultiplier = c.multipliers().residual();
        this.residualDropout = c.dropouts().residual();
        BlockPattern pattern = c.blockPattern();
        if (pattern != null && !pattern.kind(index).mixesTokens()) {
            this.mixer = null;
        } else if (c.isLinearAttention(index)) {
            this.mixer = "linear_attn";
            registerChild(mixer, new GatedDeltaNet(scope, c, index));
        } else if (c.isMamba(index)) {
            this.mixer = pattern != null ? BLOCK : "mamba";
            registerChild(mixer, new Mamba2Mixer(scope, c, index));
        } else if (c.isShortConv(index)) {
            this.mixer = "conv";
            registerChild(mixer, new ShortConv(scope, c, index));
        } else {
            this.mixer = pattern != null ? BLOCK : "self_attn";
            registerChild(mixer, c.latentAttention() != null ? new LatentAttention(scope, c, rotary, index)
                    : new DecoderAttention(scope, c, rotary, index));
        }
        this.parallelHybrid = c.parallelHybrid();
        if (parallelHybrid != null) {
            registerChild("mamba", new Mamba2Mixer(scope, c, index));
        }
        boolean besideMlp = c.isSparse(index) && c.moe().naming().besideMlp();
        boolean sparseBlock = c.isSparse(index) && !besideMlp;
        if (pattern != null && pattern.kind(index).mixesTokens()) {
            this.mlp = null;
        } else {
            this.mlp = sparseBlock ? c.moe().naming().block() : c.denseMlp().module();
            registerChild(mlp, sparseBlock ? new SparseMoeBlock(scope, c) : new DecoderMlp(scope, c, index));
        }
        this.expertsBesideMlp = besideMlp ? new SparseMoeBlock(scope, c, this, this::registerChild) : null;
        if (besideMlp) {
            for (String norm : new String[]{MLP_OUTPUT_1, EXPERTS_OUTPUT, EXPERTS_INPUT}) {
                registerChild(norm, norm(scope, c));
            }
        }
        this.sharedMlp = c.isSparse(index) && c.sharedMlpBesideExperts() ? c.denseMlp().module() : null;
        if (sharedMlp != null) {
            registerChild(sharedMlp, new DecoderMlp(scope, c));
        }
        this.parallel = c.norms() == NormPlacement.PARALLEL;
        int perLayer = c.gemma4() == null ? 0 : c.gemma4().perLayerInputSize();
        this.perLayerInputAct = perLayer > 0 ? c.hiddenAct() : null;
        if (perLayer > 0) {
            registerChild("per_layer_input_gate", new Linear(scope, c.hiddenSize(), perLayer, false));
            registerChild("per_layer_projection", new Linear(scope, perLayer, c.hiddenSize(), false));
            registerChild("post_per_layer_input_norm", norm(scope, c));
        }
        this.layerScalar = c.gemma4() != null;
        if (layerScalar) { // a buffer in transformers: loaded and saved, never trained
            Tensor one = registerBuffer("layer_scalar", Tensor.zeros(scope, DType.F32, Shape.of(1)));
            one.backend().copy().fill(one, 1f);
        }
        for (String norm : new String[]{norms.input(), norms.attentionOutput(), norms.mlpInput(), norms.mlpOutput()}) {
            if (norm != null) {
                registerChild(norm, norm(scope, c));
            }
        }
    }

    /**
     * The layer's index in the stack.
     *
     * @return the index
     */
    public int index() {
        return index;
    }

    /**
     * A norm over the hidden size as the family computes it ({@link DecoderConfig#normKind}): an RMSNorm (Gemma's
     * scaling by {@code 1 + weight}), or a LayerNorm with or without a bias.
     *
     * @param scope owns the weight
     * @param c the configuration
     * @return the norm, the identity scale until loaded
     */
    static Module norm(TensorScope scope, DecoderConfig c) {
        return switch (c.normKind()) {
            case RMS -> new RmsNorm(scope, c.hiddenSize(), c.normEps(), c.gemmaNorms());
            case LAYER -> new LayerNorm(scope, c.hiddenSize(), c.normEps(), true);
            case LAYER_WITHOUT_BIAS -> new LayerNorm(scope, c.hiddenSize(), c.normEps(), false);
        };
    }

    /**
     * x: (B, T, C) -> (B, T, C).
     *
     * @param x the hidden states, (B, T, C)
     * @param ctx positions, masks and caches of this forward pass
     * @return the new hidden states, (B, T, C)
     */
    public Tensor forward(Tensor x, ForwardContext ctx) {
        return forward(x, ctx, null);
    }

    /**
     * x: (B, T, C) -> (B, T, C), with Gemma 4's per-layer input.
     *
     * @param x the hidden states, (B, T, C)
     * @param ctx positions, masks and caches of this forward pass
     * @param perLayerInput this layer's per-layer input, (B, T, P); null where the model has none
     * @return the new hidden states, (B, T, C)
     */
    public Tensor forward(Tensor x, ForwardContext ctx, Tensor perLayerInput) {
        Tensor out = sublayers(x, ctx);
        if (perLayerInputAct != null) {
            Tensor gated = Elementwise.mul(Activations.apply(perLayerInputAct,
                    layer("per_layer_input_gate").forward(out)), perLayerInput);
            out = Elementwise.add(out, normed("post_per_layer_input_norm",
                    layer("per_layer_projection").forward(gated)));
        }
        return layerScalar ? Elementwise.mul(out, parameter("layer_scalar")) : out;
    }

    /** The token mixer and the MLP with their norms and residual adds. */
    private Tensor sublayers(Tensor x, ForwardContext ctx) {
        if (parallel) {
            Tensor normed = normed(norms.input(), x);
            Tensor attended = ((Block) child(mixer)).forward(normed, ctx);
            Tensor transformed = layer(mlp).forward(normed);
            Tensor h = residual(x, attended, ctx);
            SpentActivations.free(attended, x, normed, h);
            Tensor out = residual(h, transformed, ctx);
            SpentActivations.free(transformed, normed, out);
            SpentActivations.free(h, out); // no backward reads the partial sum
            return out;
        }
        Tensor h = x;
        if (mixer != null) {
            Tensor normed = normed(norms.input(), x);
            Tensor attended = normed(norms.attentionOutput(), mixed(normed, ctx));
            h = residual(x, attended, ctx);
            SpentActivations.free(attended, x, normed);
        }
        if (mlp == null) {
            return h;
        }
        Tensor normedH = normed(norms.mlpInput(), h);
        Tensor transformed = layer(mlp).forward(normedH);
        if (sharedMlp != null) {
            transformed = Elementwise.add(transformed, layer(sharedMlp).forward(normedH));
        }
        if (expertsBesideMlp != null) {
            Tensor mixed = expertsBesideMlp.mix(h, normed(EXPERTS_INPUT, h));
            transformed = Elementwise.add(normed(MLP_OUTPUT_1, transformed), normed(EXPERTS_OUTPUT, mixed));
        }
        transformed = normed(norms.mlpOutput(), transformed);
        Tensor out = residual(h, transformed, ctx);
        SpentActivations.free(transformed, h, normedH);
        return out;
    }

    /**
     * The token mixer's output for the normed input: Falcon-H1's attention and Mamba-2 mixer side by side, scaled and
     * summed. NOTE: the attention runs first, so that a generation's cache counts the layer's new positions once,
     * when the attention appends its keys ({@link dev.finetune4j.core.nn.KvCache#advanceRecurrent}).
     */
    private Tensor mixed(Tensor normed, ForwardContext ctx) {
        Block tokenMixer = (Block) child(mixer);
        if (parallelHybrid == null) {
            return tokenMixer.forward(normed, ctx);
        }
        Tensor attended = Elementwise.scale(tokenMixer.forward(Elementwise.scale(normed, parallelHybrid.attentionIn()),
                ctx), parallelHybrid.attentionOut());
        Tensor ssm = Elementwise.scale(((Block) child("mamba")).forward(normed, ctx), parallelHybrid.ssmOut());
        return Elementwise.add(ssm, attended);
    }

    /** {@code x} through the norm called {@code name}, or {@code x} itself where the layer has none there. */
    private Tensor normed(String name, Tensor x) {
        return name == null ? x : layer(name).forward(x);
    }

    /** stream + branch, the branch dropped out in training and scaled by Granite's residual multiplier. */
    private Tensor residual(Tensor stream, Tensor branch, ForwardContext ctx) {
        Tensor dropped = ctx.dropout(branch, residualDropout);
        if (residualMultiplier == 1f) {
            return Elementwise.add(stream, dropped);
        }
        Tensor scaled = Elementwise.scale(dropped, residualMultiplier);
        Tensor sum = Elementwise.add(stream, scaled);
        SpentActivations.free(scaled, sum);
        return sum;
    }
}
