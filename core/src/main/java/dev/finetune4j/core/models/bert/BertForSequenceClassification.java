package dev.finetune4j.core.models.bert;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.EmbeddingLookup;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.nn.Container;
import dev.finetune4j.core.nn.Embedding;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.LayerNorm;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.ModuleList;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * BERT encoder with the pooler (tanh of the [CLS] state) and a linear classifier, as Hugging Face's
 * {@code BertForSequenceClassification}. Token type ids are all 0. In training mode the embeddings, the attention
 * probabilities, each sub-layer's output and the pooled output are dropped out as its config says
 * ({@link BertConfig#dropouts}, {@link BertConfig#classifierDropout}).
 */
public final class BertForSequenceClassification extends SequenceClassifierModule {
    private final TensorScope scope;
    private final BertConfig config;
    private final ClassifierConfig classifier;
    private SplittableRandom dropoutRandom = new SplittableRandom(0);

    /**
     * Builds the module tree with zero weights in {@code scope}, its classes named {@code LABEL_i}; load them
     * afterwards.
     *
     * @param scope owns the weights
     * @param c the configuration
     */
    public BertForSequenceClassification(TensorScope scope, BertConfig c) {
        this(scope, c, null);
    }

    /**
     * Builds the module tree with zero weights in {@code scope}; load them afterwards.
     *
     * @param scope      owns the weights
     * @param c          the configuration
     * @param classifier the classes' names and problem type ({@code ClassifierConfig.fromJson} of the same
     *                   config.json), as many labels as {@code c.numLabels()}; null names them {@code LABEL_i}
     */
    public BertForSequenceClassification(TensorScope scope, BertConfig c, ClassifierConfig classifier) {
        if (classifier != null && classifier.numLabels() != c.numLabels()) {
            throw new IllegalArgumentException(classifier.numLabels() + " labels " + classifier.id2label() + " for a "
                    + "head of " + c.numLabels() + " classes: num_labels and id2label of config.json disagree");
        }
        this.scope = scope;
        this.config = c;
        this.classifier = classifier;
        Container bert = registerChild("bert", new Container());
        Container emb = bert.add("embeddings", new Container());
        emb.add("word_embeddings", new Embedding(scope, c.vocabSize(), c.hiddenSize()));
        emb.add("position_embeddings", new Embedding(scope, c.maxPositionEmbeddings(), c.hiddenSize()));
        emb.add("token_type_embeddings", new Embedding(scope, c.typeVocabSize(), c.hiddenSize()));
        emb.add("LayerNorm", new LayerNorm(scope, c.hiddenSize(), c.layerNormEps()));
        List<BertLayer> layers = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(new BertLayer(scope, c));
        }
        bert.add("encoder", new Container()).add("layer", new ModuleList<>(layers));
        bert.add("pooler", new Container()).add("dense", new Linear(scope, c.hiddenSize(), c.hiddenSize(), true));
        registerChild("classifier", new Linear(scope, c.hiddenSize(), c.numLabels(), true));
    }

    /**
     * The configuration this model was built from.
     *
     * @return the configuration
     */
    public BertConfig config() {
        return config;
    }

    /**
     * Class scores (B, numLabels) with autograd. ids: [B][T]; mask: [B][T] or null.
     *
     * @param ids token ids, B rows of T
     * @param mask 1 for real tokens and 0 for padding, same shape as {@code ids}, or null for all real
     * @return the logits, (B, numLabels)
     */
    @Override
    public Tensor forward(long[][] ids, long[][] mask) {
        int b = ids.length;
        int t = ids[0].length;
        Container bert = (Container) child("bert");
        Container emb = (Container) bert.child("embeddings");
        long[][] positions = new long[b][t];
        long[][] types = new long[b][t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                positions[i][j] = j;
            }
        }
        Tensor x = ((Embedding) emb.child("word_embeddings")).forward(ids);
        x = Elementwise.add(x, EmbeddingLookup.lookup(((Embedding) emb.child("position_embeddings")).weight(), positions));
        x = Elementwise.add(x, EmbeddingLookup.lookup(((Embedding) emb.child("token_type_embeddings")).weight(), types));
        AttentionMask attentionMask = new AttentionMask(false, keyValid(mask, b, t), null);
        ForwardContext pass = new ForwardContext(attentionMask, null, null, isTraining() ? this::dropoutRandom : null,
                null);
        x = pass.dropout(emb.layer("LayerNorm").forward(x), config.dropouts().embedding());
        ModuleList<?> layers = (ModuleList<?>) bert.child("encoder").child("layer");
        for (int i = 0; i < layers.size(); i++) {
            x = ((BertLayer) layers.get(i)).forward(x, pass);
        }
        Tensor cls = x.slice(1, 0, 1).reshape(b, config.hiddenSize());
        Tensor pooled = Activations.apply(Activations.Kind.TANH, ((Container) bert.child("pooler")).layer("dense").forward(cls));
        // a Layer: PEFT's modules_to_save may wrap the head
        return layer("classifier").forward(pass.dropout(pooled, config.classifierDropout()));
    }

    @Override
    public void seedDropout(long seed) {
        dropoutRandom = new SplittableRandom(seed);
    }

    @Override
    public SplittableRandom dropoutRandom() {
        return dropoutRandom;
    }

    @Override
    public int numLabels() {
        return config.numLabels();
    }

    /** The labels and problem type of config.json when it was given, else the interface's defaults. */
    @Override
    public ClassifierConfig classifierConfig() {
        return classifier != null ? classifier : super.classifierConfig();
    }

    /**
     * BERT's shape facts: an encoder ({@code causal} false) with as many key/value heads as query heads.
     *
     * @return the spec, model type {@code "bert"}
     */
    @Override
    public ModelSpec spec() {
        return new ModelSpec("bert", config.vocabSize(), config.hiddenSize(), config.numHiddenLayers(),
                config.numAttentionHeads(), config.numAttentionHeads(), config.hiddenSize() / config.numAttentionHeads(),
                config.maxPositionEmbeddings(), false);
    }

    /**
     * The scope that owns the parameters.
     *
     * @return the parameters' scope
     */
    @Override
    public TensorScope parameterScope() {
        return scope;
    }

    @Override
    public void close() {
        scope.close();
    }

    private static boolean[][] keyValid(long[][] mask, int b, int t) {
        if (mask == null) {
            return null;
        }
        boolean[][] valid = new boolean[b][t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                valid[i][j] = mask[i][j] != 0;
            }
        }
        return valid;
    }
}
