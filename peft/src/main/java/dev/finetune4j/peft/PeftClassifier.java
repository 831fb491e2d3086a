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
    public SequenceClassifier base() {
        return classifier;
    }

    /**
     * Class scores (B, labels) with autograd through the adapter. ids: [B][T]; mask: [B][T] or null.
     *
     * @param ids token ids, B rows of T
     * @param mask 1 for real tokens and 0 for padding, or null for all real
     * @return the logits, (B, labels)
     */
    @Override
    public Tensor forward(long[][] ids, long[][] mask) {
        return classifier.forward(ids, mask);
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
