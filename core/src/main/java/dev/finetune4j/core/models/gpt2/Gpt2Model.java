package dev.finetune4j.core.models.gpt2;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.EmbeddingLookup;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.Embedding;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.LayerNorm;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.ModuleList;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2 ({@code GPT2LMHeadModel}): learned positions, pre-norm LayerNorm blocks, Conv1D weights stored
 * (in, out), output head tied to {@code transformer.wte}; in training the embeddings, the attention probabilities
 * and each block's two outputs are dropped out as its config says ({@link Gpt2Config#dropouts}).
 */
public final class Gpt2Model extends LanguageModel {
    private final Gpt2Config config;

    /**
     * Builds the module tree with zero weights in {@code scope}; load or initialise them afterwards.
     *
     * @param scope owns the weights
     * @param c the configuration
     */
    public Gpt2Model(TensorScope scope, Gpt2Config c) {
        super(scope, c.spec());
        this.config = c;
        List<Gpt2Block> blocks = new ArrayList<>();
        for (int i = 0; i < c.nLayer(); i++) {
            blocks.add(new Gpt2Block(scope, c, i));
        }
        registerChild("transformer", new Transformer(scope, c, blocks));
    }

    /**
     * The configuration this model was built from.
     *
     * @return the configuration
     */
    public Gpt2Config config() {
        return config;
    }

    @Override
    public Tensor embed(long[][] ids) {
        return ((Embedding) transformer().child("wte")).forward(ids);
    }

    @Override
    protected Tensor hiddenStates(Tensor x, ForwardContext ctx) {
        long[][] positions = new long[ctx.positions().length][];
        for (int b = 0; b < positions.length; b++) {
            positions[b] = new long[ctx.positions()[b].length];
            for (int t = 0; t < positions[b].length; t++) {
                positions[b][t] = ctx.positions()[b][t];
            }
        }
        Tensor wpe = ((Embedding) transformer().child("wpe")).weight();
        Tensor h = ctx.dropout(Elementwise.add(x, EmbeddingLookup.lookup(wpe, positions)), config.dropouts().embedding());
        @SuppressWarnings("unchecked")
        ModuleList<Gpt2Block> blocks = (ModuleList<Gpt2Block>) transformer().child("h");
        return ((LayerNorm) transformer().child("ln_f")).forward(forwardLayers(blocks, h, ctx,
                (block, in) -> block.forward(in, ctx)));
    }

    @Override
    protected Tensor logitsFromHidden(Tensor hidden) {
        return Matmul.linear(hidden, outputProjection(), null);
    }

    /** The tied token embedding {@code wte}. */
    @Override
    protected Tensor outputProjection() {
        return ((Embedding) transformer().child("wte")).weight();
    }

    private Module transformer() {
        return child("transformer");
    }

    /** The {@code transformer} sub-tree. */
    static final class Transformer extends Module {
        Transformer(TensorScope scope, Gpt2Config c, List<Gpt2Block> blocks) {
            registerChild("wte", new Embedding(scope, c.vocabSize(), c.nEmbd()));
            registerChild("wpe", new Embedding(scope, c.nPositions(), c.nEmbd()));
            registerChild("h", new ModuleList<>(blocks));
            registerChild("ln_f", new LayerNorm(scope, c.nEmbd(), c.layerNormEpsilon()));
        }
    }

    /** One pre-norm block: x + attn(ln_1(x)), then x + mlp(ln_2(x)), the MLP's output dropped out in training. */
    static final class Gpt2Block extends Module {
        private final float residualDropout;

        Gpt2Block(TensorScope scope, Gpt2Config c, int index) {
            this.residualDropout = c.dropouts().residual();
            registerChild("ln_1", new LayerNorm(scope, c.nEmbd(), c.layerNormEpsilon()));
            registerChild("attn", new Gpt2Attention(scope, c, index));
            registerChild("ln_2", new LayerNorm(scope, c.nEmbd(), c.layerNormEpsilon()));
            registerChild("mlp", new Gpt2Mlp(scope, c));
        }

        Tensor forward(Tensor x, ForwardContext ctx) {
            x = Elementwise.add(x, ((Block) child("attn")).forward(layer("ln_1").forward(x), ctx));
            return Elementwise.add(x, ctx.dropout(layer("mlp").forward(layer("ln_2").forward(x)), residualDropout));
        }
    }
}
