package dev.finetune4j.peft;

import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;


/**
 * A sequence classifier with one PEFT adapter (PEFT's {@code PeftModelForSequenceClassification}); the
 * classification head trains and saves with the adapter unless the config names other modules to save.
 *
 * <p>Thread safety: as {@link PeftModel}.
 */
public final class PeftClassifier extends AdapterModel<Module> implements SequenceClassifier {
    private final SequenceClassifierModule classifier;

    PeftClassifier(SequenceClassifierModule base, AdapterState state) {
        super(base, state);
        this.classifier = base;
    }

    /**
     * Seeds the stream the classifier's dropouts and its adapter's draw from in training mode (trainers reseed it for
     * every micro-batch, so that a resumed run draws the masks an uninterrupted one draws).
     *
     * @param seed the seed
     */
    public void seedDropout(long seed) {
        classifier.seedDropout(seed);
    }

    /**
     * The base classifier (its tree holds the adapter's wrappers while the adapter is injected).
     *
     * @return the classifier given to {@code Peft.wrap} or {@code Peft.load}
     */
    public SequenceClassifierModule base() {
        return classifier;
    }

    /**
     * Class scores (B, labels) with autograd through the adapter. ids, mask, types: [B][T]; mask and types may be null.
     *
     * @param ids token ids, B rows of T
     * @param mask 1 for real tokens and 0 for padding, or null for all real
     * @param types each token's type id (a pair's second text: 1 for BERT), or null for all 0
     * @return the logits, (B, labels)
     * @throws IllegalArgumentException for a type id at or above the base classifier's {@link #typeVocabSize()}
     */
    @Override
    public Tensor forward(long[][] ids, long[][] mask, long[][] types) {
        return classifier.forward(ids, mask, types);
    }

    /** The base classifier's token-type table size. */
    @Override
    public int typeVocabSize() {
        return classifier.typeVocabSize();
    }

    /**
     * Merges and removes the adapter's wrappers; the trained head stays.
     *
     * @return the base classifier, which then computes what this one computed
     */
    public SequenceClassifier mergeAndUnload() {
        mergeAndUnloadBase();
        return classifier;
    }

    /** The base classifier's shape facts. */
    @Override
    public ModelSpec spec() {
        return classifier.spec();
    }

    /** The base classifier's parameter scope, which also holds the adapter's weights. */
    @Override
    public TensorScope parameterScope() {
        return classifier.parameterScope();
    }

    @Override
    public int numLabels() {
        return classifier.numLabels();
    }

    /** The base classifier's labels, problem type and pad id. */
    @Override
    public ClassifierConfig classifierConfig() {
        return classifier.classifierConfig();
    }

    @Override
    public void close() {
        classifier.close();
    }
}
