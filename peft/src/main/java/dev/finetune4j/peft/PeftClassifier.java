package dev.finetune4j.peft;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.core.models.bert.BertForSequenceClassification;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.nio.file.Path;
import java.util.Map;

/**
 * A sequence classifier with one PEFT adapter (PEFT's {@code PeftModelForSequenceClassification}); the
 * classification head trains and saves with the adapter unless the config names other modules to save.
 *
 * <p>Thread safety: as {@link PeftModel}.
 */
public final class PeftClassifier implements SequenceClassifier {
    private final BertForSequenceClassification base;
    private final AdapterState state;

    PeftClassifier(BertForSequenceClassification base, AdapterState state) {
        this.base = base;
        this.state = state;
    }

    public BertForSequenceClassification base() {
        return base;
    }

    public PeftConfig config() {
        return state.config();
    }

    /** Class scores (B, labels) with autograd through the adapter. ids: [B][T]; mask: [B][T] or null. */
    public Tensor forward(long[][] ids, long[][] mask) {
        return base.forward(ids, mask);
    }

    /** The adapter's trainable parameters by PEFT's saved names. */
    public Map<String, Tensor> trainableParameters() {
        return state.trainableParameters();
    }

    /** Every adapter tensor by PEFT's saved name. */
    public Map<String, Tensor> adapterTensors() {
        return state.tuner().adapterTensors();
    }

    /** Switches the adapter off until the handle is closed. */
    public AutoCloseable disableAdapter() {
        return state.disable();
    }

    public void train(boolean on) {
        base.train(on);
    }

    /** Saves in PEFT's format, atomically. */
    public void save(Path dir) {
        state.save(dir);
    }

    public void merge() {
        state.tuner().merge();
    }

    public void unmerge() {
        state.tuner().unmerge();
    }

    /** Merges and removes the adapter's wrappers; the trained head stays. */
    public BertForSequenceClassification mergeAndUnload() {
        if (!state.tuner().isMerged()) {
            merge();
        }
        state.unload();
        return base;
    }

    public TrainableReport trainableReport() {
        return state.report();
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
