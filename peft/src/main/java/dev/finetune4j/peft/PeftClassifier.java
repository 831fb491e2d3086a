package dev.finetune4j.peft;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.core.models.bert.BertForSequenceClassification;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * A sequence classifier with one PEFT adapter (PEFT's {@code PeftModelForSequenceClassification}); the
 * classification head trains and saves with the adapter unless the config names other modules to save.
 *
 * <p>Thread safety: as {@link PeftModel}.
 */
public final class PeftClassifier extends AdapterModel<BertForSequenceClassification> implements SequenceClassifier {
    PeftClassifier(BertForSequenceClassification base, AdapterState state) {
        super(base, state);
    }

    /**
     * The base classifier (its tree holds the adapter's wrappers while the adapter is injected).
     *
     * @return the base classifier
     */
    public BertForSequenceClassification base() {
        return base;
    }

    /**
     * Class scores (B, labels) with autograd through the adapter. ids: [B][T]; mask: [B][T] or null.
     *
     * @param ids token ids, B rows of T
     * @param mask 1 for real tokens and 0 for padding, or null for all real
     * @return the logits, (B, labels)
     */
    public Tensor forward(long[][] ids, long[][] mask) {
        return base.forward(ids, mask);
    }

    /**
     * Merges and removes the adapter's wrappers; the trained head stays.
     *
     * @return the base classifier with the adapter merged into its weights
     */
    public BertForSequenceClassification mergeAndUnload() {
        return mergeAndUnloadBase();
    }

    @Override
    public float[][] logits(long[][] inputIds, long[][] attentionMask) {
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            float[] flat = forward(inputIds, attentionMask).toFloatArray();
            int labels = numLabels();
            float[][] out = new float[inputIds.length][labels];
            for (int i = 0; i < out.length; i++) {
                System.arraycopy(flat, i * labels, out[i], 0, labels);
            }
            return out;
        }
    }

    @Override
    public int numLabels() {
        return base.numLabels();
    }

    @Override
    public void close() {
        base.close();
    }
}
