package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.Embedding;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.ModuleList;
import dev.finetune4j.core.nn.RmsNorm;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;

/**
 * LLaMA, Mistral, Qwen2 and Qwen3 as one causal LM ({@code *ForCausalLM}), with Hugging Face's module tree:
 * {@code model.embed_tokens}, {@code model.layers.N...}, {@code model.norm}, {@code lm_head} (absent when the
 * embeddings are tied).
 */
public final class DecoderModel extends LanguageModel {
    private final DecoderConfig config;
    private final RotaryFrequencies rotary;

    /**
     * Builds the module tree with zero weights in {@code scope}; load or initialise them afterwards.
     *
     * @param scope owns the weights
     * @param c the configuration
     */
    public DecoderModel(TensorScope scope, DecoderConfig c) {
        super(scope, c.spec());
        this.config = c;
        this.rotary = RotaryFrequencies.of(c.rope(), c.headDim()).cachingTablesIn(this::parameterScope);
        List<DecoderLayer> layers = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(new DecoderLayer(scope, c, rotary, i));
        }
        registerChild("model", new Backbone(scope, c, layers));
        if (!c.tieWordEmbeddings()) {
            registerChild("lm_head", new Linear(scope, c.hiddenSize(), c.vocabSize(), false));
        }
    }

    /**
     * The configuration this model was built from.
     *
     * @return the configuration
     */
    public DecoderConfig config() {
        return config;
    }

    @Override
    public Tensor embed(long[][] ids) {
        return backbone().embedTokens().forward(ids);
    }

    @Override
    protected Tensor hiddenStates(Tensor x, ForwardContext ctx) {
        @SuppressWarnings("unchecked")
        ModuleList<DecoderLayer> layers = (ModuleList<DecoderLayer>) backbone().child("layers");
        rotary.table(ctx.positions(), x.device()); // made before the layers, so that it outlives their intermediates
        Tensor h = forwardLayers(layers, x, ctx, (layer, in) -> layer.forward(in, ctx));
        return ((RmsNorm) backbone().child("norm")).forward(h);
    }

    @Override
    protected Tensor logitsFromHidden(Tensor hidden) {
        if (config.tieWordEmbeddings()) {
            return Matmul.linear(hidden, backbone().embedTokens().weight(), null);
        }
        return layer("lm_head").forward(hidden);
    }

    /** The tied embedding, or lm_head's weight while it is a plain bias-free {@link Linear} (no adapter on it). */
    @Override
    protected Tensor outputProjection() {
        if (config.tieWordEmbeddings()) {
            return backbone().embedTokens().weight();
        }
        return layer("lm_head") instanceof Linear head && head.getClass() == Linear.class && !head.hasBias()
                && !head.fanInFanOut() ? head.weight() : null;
    }

    private Backbone backbone() {
        return (Backbone) child("model");
    }

    /** The {@code model} sub-tree: embeddings, layers and the final norm. */
    static final class Backbone extends Module {
        Backbone(TensorScope scope, DecoderConfig c, List<DecoderLayer> layers) {
            registerChild("embed_tokens", new Embedding(scope, c.vocabSize(), c.hiddenSize()));
            registerChild("layers", new ModuleList<>(layers));
            registerChild("norm", new RmsNorm(scope, c.hiddenSize(), c.rmsNormEps()));
        }

        Embedding embedTokens() {
            return (Embedding) child("embed_tokens");
        }
    }
}
