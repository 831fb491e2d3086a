package dev.finetune4j.core.models.bert;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.LayerRunner;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.models.TokenTypeIds;
import dev.finetune4j.core.nn.Container;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.ModuleList;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The one encoder classifier of BERT's family: embeddings, post-norm layers ({@code BertLayer}) and a head on the first
 * token's final state, under the family's Hugging Face names. {@link BertForSequenceClassification},
 * {@link RobertaForSequenceClassification} (RoBERTa and XLM-RoBERTa) and {@link DistilBertForSequenceClassification}
 * differ only by their {@code EncoderFamily}: names, position ids and head. BERT adds each token's
 * {@code token_type_embeddings} row (its type: 0 for a pair's first text, 1 for its second); RoBERTa's table has the
 * one row of type 0, DistilBERT none. In training mode
 * the embeddings, the attention probabilities, the sub-layers' outputs and the head are dropped out as the config
 * says, each layer drawing from a stream of its own that the model's stream seeds ({@link LayerRunner}), so that
 * gradient checkpointing's recompute draws the same masks.
 */
public abstract sealed class EncoderClassifier extends SequenceClassifierModule
        permits BertForSequenceClassification, RobertaForSequenceClassification, DistilBertForSequenceClassification {
    private final TensorScope scope;
    private final EncoderConfig config;
    private final EncoderFamily family;
    private final ClassifierConfig classifier;
    private final int numLabels;
    private SplittableRandom dropoutRandom = new SplittableRandom(0);
    private boolean gradientCheckpointing;

    /**
     * Builds the module tree with zero weights in {@code scope}; load them afterwards.
     *
     * @param classifier the classes' names and problem type, whose count sizes the head; null names config.json's
     *                   {@code num_labels} classes {@code LABEL_i}
     */
    EncoderClassifier(TensorScope scope, EncoderConfig c, ClassifierConfig classifier) {
        this.scope = scope;
        this.config = c;
        this.family = EncoderFamily.of(c.modelType());
        this.classifier = classifier;
        this.numLabels = classifier != null ? classifier.numLabels() : c.numLabels();
        Container encoder = registerChild(family.prefix(), new Container());
        encoder.add("embeddings", new BertEmbeddings(scope, c, family.positionsAfterPadding()));
        List<BertLayer> layers = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(new BertLayer(scope, c, family));
        }
        encoder.add(family.stack(), new Container()).add("layer", new ModuleList<>(layers));
        int h = c.hiddenSize();
        ModulePaths.put(this, this::registerChild, family.head().dense(), new Linear(scope, h, h, true));
        ModulePaths.put(this, this::registerChild, family.head().output(), new Linear(scope, h, numLabels, true));
    }

    /**
     * The classifier of {@code config}'s family: {@link BertForSequenceClassification},
     * {@link RobertaForSequenceClassification} or {@link DistilBertForSequenceClassification}, with zero weights.
     *
     * @param scope owns the weights
     * @param config the configuration, whose model type picks the class
     * @param classifier the classes' names and problem type, whose count sizes the head; null names config.json's
     *                   {@code num_labels} classes {@code LABEL_i}
     * @return the classifier
     */
    public static EncoderClassifier of(TensorScope scope, EncoderConfig config, ClassifierConfig classifier) {
        return switch (config) {
            case DistilBertConfig d -> new DistilBertForSequenceClassification(scope, d, classifier);
            case BertConfig b when b.modelType().equals("bert") ->
                    new BertForSequenceClassification(scope, b, classifier);
            case BertConfig b -> new RobertaForSequenceClassification(scope, b, classifier);
        };
    }

    /**
     * Class scores (B, numLabels) with autograd.
     *
     * @param ids token ids, B rows of T
     * @param mask 1 for real tokens and 0 for padding, same shape as {@code ids}, or null for all real
     * @param types each token's type id, same shape as {@code ids}, below {@link #typeVocabSize()}; null for all 0
     * @return the logits, (B, numLabels)
     * @throws IllegalArgumentException for a type id out of range, naming its row, column and the limit
     */
    @Override
    public Tensor forward(long[][] ids, long[][] mask, long[][] types) {
        TokenTypeIds.check(types, ids, config.typeVocabSize(), config.modelType());
        int b = ids.length;
        int t = ids[0].length;
        Module encoder = child(family.prefix());
        ForwardContext pass = new ForwardContext(new AttentionMask(false, keyValid(mask, b, t), null), null, null,
                isTraining() ? this::dropoutRandom : null, null);
        Tensor x = ((BertEmbeddings) encoder.child("embeddings")).forward(ids, types, pass);
        ModuleList<?> layers = (ModuleList<?>) encoder.child(family.stack()).child("layer");
        LayerRunner runner = new LayerRunner(isTraining(), gradientCheckpointing, () -> dropoutRandom,
                stream -> dropoutRandom = stream);
        for (int i = 0; i < layers.size(); i++) {
            BertLayer layer = (BertLayer) layers.get(i);
            x = runner.run(layer, x, in -> layer.forward(in, pass));
        }
        Tensor first = x.slice(1, 0, 1).reshape(b, config.hiddenSize());
        EncoderFamily.Head head = family.head();
        float p = config.classifierDropout();
        // Layers looked up at each call: PEFT's modules_to_save may wrap them
        Tensor input = head.dropoutBeforeDense() ? pass.dropout(first, p) : first;
        Tensor dense = ModulePaths.layer(this, head.dense()).forward(input);
        Tensor hidden = pass.dropout(Activations.apply(head.activation(), dense), p);
        return ModulePaths.layer(this, head.output()).forward(hidden);
    }

    /**
     * The configuration this model was built from.
     *
     * @return the configuration
     */
    public EncoderConfig encoderConfig() {
        return config;
    }

    /**
     * The family this classifier belongs to: its module names, position ids and head.
     *
     * @return BERT, RoBERTa (XLM-RoBERTa too) or DistilBERT
     */
    public EncoderFamily family() {
        return family;
    }

    /**
     * The encoder's name in this tree, transformers' {@code base_model_prefix} ({@code bert}, {@code roberta},
     * {@code distilbert}): a base model's checkpoint ({@code RobertaModel}) names its weights without it.
     *
     * @return the prefix, without a dot
     */
    public String baseModelPrefix() {
        return family.prefix();
    }

    /**
     * The head's modules, which a base model's checkpoint lacks and a new set of labels partly replaces: the
     * projection onto the hidden size first (BERT's pooler, RoBERTa's {@code classifier.dense}, DistilBERT's
     * {@code pre_classifier}), then the one onto the labels ({@link #labelProjection()}).
     *
     * @return their dotted paths from the root
     */
    public List<String> headModules() {
        return List.of(family.head().dense(), family.head().output());
    }

    /**
     * The head's projection onto the labels ({@code classifier}, RoBERTa's {@code classifier.out_proj}), whose shape
     * follows the labels.
     *
     * @return its dotted path from the root
     */
    public String labelProjection() {
        return family.head().output();
    }

    @Override
    public void gradientCheckpointing(boolean on) {
        this.gradientCheckpointing = on;
    }

    /**
     * Whether gradient checkpointing is on (see {@link #gradientCheckpointing(boolean)}).
     *
     * @return true when layers are recomputed in the backward
     */
    public boolean isGradientCheckpointing() {
        return gradientCheckpointing;
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
        return numLabels;
    }

    /** config.json's {@code type_vocab_size} (DistilBERT: 0, it has no token-type table). */
    @Override
    public int typeVocabSize() {
        return config.typeVocabSize();
    }

    /** The labels and problem type of config.json when it was given, else the interface's defaults. */
    @Override
    public ClassifierConfig classifierConfig() {
        return classifier != null ? classifier : super.classifierConfig();
    }

    /**
     * The encoder's shape facts: not causal, as many key/value heads as query heads.
     *
     * @return the spec, the config's model type
     */
    @Override
    public ModelSpec spec() {
        return new ModelSpec(config.modelType(), config.vocabSize(), config.hiddenSize(), config.numHiddenLayers(),
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

    /** {@code c}, once its model type is one of {@code types}. */
    static <C extends EncoderConfig> C requireType(C c, String... types) {
        for (String type : types) {
            if (c.modelType().equals(type)) {
                return c;
            }
        }
        throw new IllegalArgumentException("a config of model_type '" + c.modelType() + "' for a classifier of "
                + String.join(" or ", types) + ": load the folder with AutoModel.loadSequenceClassifier, which picks the class");
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
