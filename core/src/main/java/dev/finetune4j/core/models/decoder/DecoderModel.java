package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.nn.Embedding;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.ModuleList;
import dev.finetune4j.core.nn.SharedKeyValues;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;

/**
 * LLaMA, Mistral, Qwen2, Qwen3, Gemma, Gemma 2, Gemma 3 (text), Phi-3, Granite, OLMo 2 and 3, SmolLM3 and the
 * mixtures of experts as one causal LM ({@code *ForCausalLM}),
 * with Hugging Face's module tree: {@code model.embed_tokens}, {@code model.layers.N...}, {@code model.norm},
 * {@code lm_head} (absent when the embeddings are tied). The language model of Gemma 3's vision-language checkpoints
 * is the same model with its backbone under {@code model.language_model} ({@link DecoderLayout}). Gemma 4's backbone
 * also holds its per-layer inputs' {@code embed_tokens_per_layer}, {@code per_layer_model_projection} and
 * {@code per_layer_projection_norm} ({@link PerLayerInputs}).
 */
public final class DecoderModel extends LanguageModel {
    private final DecoderConfig config;
    private final DecoderLayout layout;
    /** The rotary frequencies of full-attention layers, and of sliding-window ones (Gemma 3's differ). */
    private final RotaryFrequencies rotary;
    private final RotaryFrequencies localRotary;

    /**
     * Builds the module tree of a {@code *ForCausalLM} with zero weights in {@code scope}; load or initialise them
     * afterwards.
     *
     * @param scope owns the weights
     * @param c the configuration
     */
    public DecoderModel(TensorScope scope, DecoderConfig c) {
        this(scope, c, DecoderLayout.CAUSAL_LM, true);
    }

    /**
     * Builds the module tree with zero weights in {@code scope}, its backbone where {@code layout} puts it.
     *
     * @param scope owns the weights
     * @param c the language model's configuration
     * @param layout where the backbone sits in the checkpoint's module tree
     */
    public DecoderModel(TensorScope scope, DecoderConfig c, DecoderLayout layout) {
        this(scope, c, layout, true);
    }

    /** The model with or without {@code lm_head}: a sequence classifier reads the hidden states only. */
    DecoderModel(TensorScope scope, DecoderConfig c, boolean withLmHead) {
        this(scope, c, DecoderLayout.CAUSAL_LM, withLmHead);
    }

    private DecoderModel(TensorScope scope, DecoderConfig c, DecoderLayout layout, boolean withLmHead) {
        super(scope, withModelType(c.spec(), layout.modelType(c)));
        this.config = c;
        this.layout = layout;
        // Gemma 4's full layers turn heads of their own size
        this.rotary = frequencies(c, c.rope(), c.gemma4() != null ? c.gemma4().globalHeadDim() : c.rotaryDim());
        this.localRotary = c.localRope() == c.rope() && c.gemma4() == null ? rotary
                : frequencies(c, c.localRope(), c.rotaryDim());
        List<DecoderLayer> layers = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(new DecoderLayer(scope, c, c.slidingWindowOf(i) > 0 ? localRotary : rotary, i));
        }
        Backbone backbone = new Backbone(scope, c, layers);
        registerChild("model", layout == DecoderLayout.CAUSAL_LM ? backbone : new LanguageModelHolder(backbone));
        if (withLmHead && !c.tieWordEmbeddings()) {
            registerChild("lm_head", new Linear(scope, c.hiddenSize(), c.vocabSize(), c.headBias()));
        }
    }

    /**
     * The frequencies of {@code rope} over {@code dims} dimensions, Ministral 3's temperature on their queries
     * (Mistral 4's on its latent queries' no-rope dimensions too), caching tables of positions.
     */
    private RotaryFrequencies frequencies(DecoderConfig c, RopeConfig rope, int dims) {
        RotaryFrequencies frequencies = RotaryFrequencies.of(rope, dims);
        if (c.queryTemperature() != null) {
            frequencies = frequencies.withQueryFactor(c.queryTemperature(),
                    c.latentAttention() == null ? 0 : c.latentAttention().qkNopeHeadDim());
        }
        return frequencies.cachingTablesIn(this::parameterScope);
    }

    /**
     * The configuration this model was built from.
     *
     * @return the configuration
     */
    public DecoderConfig config() {
        return config;
    }

    /**
     * Where the backbone sits in the module tree, which names the weights.
     *
     * @return the layout
     */
    public DecoderLayout layout() {
        return layout;
    }

    @Override
    public List<String> modulesLeftOut() {
        return layout.modulesLeftOut();
    }

    @Override
    public String currentName(String name) {
        return layout.currentName(name);
    }

    private static ModelSpec withModelType(ModelSpec s, String modelType) {
        return new ModelSpec(modelType, s.vocabSize(), s.hiddenSize(), s.numLayers(), s.numHeads(), s.numKeyValueHeads(),
                s.headDim(), s.maxPositionEmbeddings(), s.causal());
    }

    /**
     * The token embeddings, whose {@code pad_token_id} row takes no gradient (transformers' {@code padding_idx}); Gemma
     * 3's scaled by {@code sqrt(hidden_size)} here, in its embedding module, so that prompt-tuning's virtual tokens
     * (concatenated after this) stay unscaled, as in transformers.
     */
    @Override
    public Tensor embed(long[][] ids) {
        Tensor embeddings = backbone().embedTokens().forward(ids, config.paddingRow());
        return config.embeddingScale() == DecoderConfig.EmbeddingScale.TOKENS ? scaled(embeddings) : embeddings;
    }

    /**
     * Gemma and Gemma 2 scale the whole input, virtual tokens included, by {@code sqrt(hidden_size)}, Granite by its
     * {@code embedding_multiplier}; in training StarCoder2 drops the input out ({@code embedding_dropout}).
     */
    @Override
    protected Tensor hiddenStates(Tensor x, ForwardContext ctx) {
        @SuppressWarnings("unchecked")
        ModuleList<DecoderLayer> layers = (ModuleList<DecoderLayer>) backbone().child("layers");
        // made before the layers, so that they outlive their intermediates
        for (RotaryFrequencies frequencies : List.of(rotary, rotary.queries(), localRotary, localRotary.queries())) {
            frequencies.table(ctx.positions(), ctx.sequenceLengths(), x.device());
        }
        if (rotary.unrotatedQueries() != null) {
            rotary.unrotatedQueries().table(ctx.positions(), ctx.sequenceLengths(), x.device());
        }
        Tensor input = ctx.dropout(config.embeddingScale() == DecoderConfig.EmbeddingScale.INPUT ? scaled(x) : x,
                config.dropouts().embedding());
        ForwardContext recurrent = !config.hasRecurrentLayers() ? ctx
                : ctx.withRecurrentInputs(RecurrentLayers.paddingKeep(ctx, x), RecurrentLayers.segmentOffsets(ctx, x));
        ForwardContext pass = config.gemma4() == null || config.gemma4().kvSharedLayers() == 0 ? recurrent
                : recurrent.withSharedKeyValues(new SharedKeyValues(config.numHiddenLayers()));
        Tensor[] perLayer = backbone().perLayerInputs() == null ? null
                : backbone().perLayerInputs().forward(x, ctx.inputIds(), config.paddingRow());
        Tensor h = forwardLayers(layers, input, pass,
                (layer, in) -> layer.forward(in, pass, perLayer == null ? null : perLayer[layer.index()]));
        return backbone().layer(config.finalNorm()).forward(h);
    }

    /** Embeddings times the configured multiplier ({@link DecoderConfig#embeddingFactor}). */
    private Tensor scaled(Tensor embeddings) {
        return Elementwise.scale(embeddings, config.embeddingFactor(backbone().embedTokens().weight().dtype()));
    }

    @Override
    protected Tensor logitsFromHidden(Tensor hidden) {
        Tensor input = headInput(hidden);
        Tensor logits = config.tieWordEmbeddings() ? Matmul.linear(input, backbone().embedTokens().weight(), null)
                : layer("lm_head").forward(input);
        float cap = config.finalLogitSoftcapping();
        if (cap == 0) {
            return logits;
        }
        // Gemma 2: cap * tanh(logits / cap)
        return Elementwise.scale(Activations.apply(Activations.Kind.TANH, Elementwise.scale(logits, 1 / cap)), cap);
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

    @Override
    protected float logitSoftCap() {
        return config.finalLogitSoftcapping();
    }

    @Override
    protected float logitsScaling() {
        return config.multipliers().logitsScaling();
    }

    /** Qwen3.5's gated DeltaNet layers, Granite 4.0 H's Mamba-2 layers. */
    @Override
    public boolean hasRecurrentLayers() {
        return config.hasRecurrentLayers();
    }

    /** Gemma 4's layers read the per-layer inputs and the kv-shared layers' keys: a recompute would lose their gradients. */
    @Override
    protected String gradientCheckpointingRefusal() {
        Gemma4Config g = config.gemma4();
        if (g == null || g.perLayerInputSize() == 0 && g.kvSharedLayers() == 0) {
            return null;
        }
        return "gradient checkpointing is not supported for this Gemma 4 model: its layers read activations made "
                + "outside them (per-layer inputs: hidden_size_per_layer_input = " + g.perLayerInputSize()
                + "; keys and values of earlier layers: num_kv_shared_layers = " + g.kvSharedLayers() + "), whose "
                + "gradients the recompute would drop; train without it (shorter sequences or a smaller batch)";
    }

    /** Gemma 4's full-attention layers of another head shape, and its kv-shared layers; latent attention's cache. */
    @Override
    public String keyValueShapesDiffer() {
        LatentAttentionConfig latent = config.latentAttention();
        if (latent != null) {
            return "every layer caches one latent of " + (latent.kvLoraRank() + latent.qkRopeHeadDim())
                    + " per position (multi-head latent attention: kv_lora_rank + qk_rope_head_dim), not keys and values";
        }
        LayerShapes shapes = config.layerShapes();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            if (!shapes.projectsKeyValues(i)) {
                return "layer " + i + " projects no keys and values: it attends over layer " + shapes.keyValueSource(i)
                        + "'s (num_kv_shared_layers = " + config.gemma4().kvSharedLayers() + ")";
            }
            if (shapes.headDim(i) != config.headDim() || shapes.keyValueHeads(i) != config.numKeyValueHeads()) {
                return "layer " + i + " has " + shapes.keyValueHeads(i) + " key/value heads of " + shapes.headDim(i)
                        + ", the model's other layers " + config.numKeyValueHeads() + " of " + config.headDim();
            }
        }
        return null;
    }

    /** Phi-3's longrope: the first pass past the pretrained length, with the cache still within it. */
    @Override
    public boolean cacheGoesStale(int cached, int length) {
        RopeConfig rope = config.rope();
        return rope.ropeType().equals("longrope") && cached <= rope.originalMaxPositionEmbeddings()
                && length > rope.originalMaxPositionEmbeddings();
    }

    private Backbone backbone() {
        Module model = child("model");
        return model instanceof LanguageModelHolder holder ? holder.languageModel() : (Backbone) model;
    }

    /** Gemma3ForConditionalGeneration's {@code model}: the backbone as its {@code language_model}. */
    static final class LanguageModelHolder extends Module {
        LanguageModelHolder(Backbone backbone) {
            registerChild("language_model", backbone);
        }

        Backbone languageModel() {
            return (Backbone) child("language_model");
        }
    }

    /**
     * The {@code model} sub-tree: embeddings, layers and the final norm (Nemotron-H's checkpoints store it as
     * {@code backbone}, which transformers renames to {@code model} on load, as finetune4j does).
     */
    static final class Backbone extends Module {
        /** {@code embed_tokens}, or Nemotron-H's {@code embeddings}. */
        private final String embeddingsName;

        /** Gemma 4's per-layer inputs, or null. */
        private final PerLayerInputs perLayerInputs;

        Backbone(TensorScope scope, DecoderConfig c, List<DecoderLayer> layers) {
            registerChild(c.embeddingsName(), new Embedding(scope, c.vocabSize(), c.hiddenSize()));
            registerChild("layers", new ModuleList<>(layers));
            registerChild(c.finalNorm(), DecoderLayer.norm(scope, c));
            this.embeddingsName = c.embeddingsName();
            boolean perLayer = c.gemma4() != null && c.gemma4().perLayerInputSize() > 0;
            if (perLayer) {
                Module[] modules = PerLayerInputs.modules(scope, c);
                registerChild(PerLayerInputs.EMBEDDINGS, modules[0]);
                registerChild(PerLayerInputs.PROJECTION, modules[1]);
                registerChild(PerLayerInputs.NORM, modules[2]);
            }
            this.perLayerInputs = perLayer ? new PerLayerInputs(c, this) : null;
        }

        Embedding embedTokens() {
            return (Embedding) child(embeddingsName);
        }

        PerLayerInputs perLayerInputs() {
            return perLayerInputs;
        }
    }
}
