package dev.finetune4j.peft;

import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The adapter lifecycle that {@link PeftModel} and {@link PeftClassifier} expose alike: parameters, enabling,
 * merging, saving and the report, all kept by one {@link AdapterState}. Package-private so that the two public
 * classes stay the only API; they add what differs (the base model's type, forward and logits).
 *
 * <p>Thread safety: as {@link PeftModel}.
 *
 * @param <M> the base model's type
 */
abstract class AdapterModel<M extends Module> {
    final M base;
    final AdapterState state;

    AdapterModel(M base, AdapterState state) {
        this.base = base;
        this.state = state;
    }

    /**
     * The adapter's configuration.
     *
     * @return the configuration
     */
    public PeftConfig config() {
        return state.config();
    }

    /**
     * Warnings from loading the adapter (also logged): trained on another architecture, on an NF4-quantized base
     * while this one is full precision, or the reverse. Empty for an adapter created by {@code Peft.wrap}.
     *
     * @return the warnings, in order
     */
    public List<String> loadWarnings() {
        return state.warnings();
    }

    /**
     * The adapter's parameters that require gradients, keyed by PEFT's saved names, in a stable order.
     *
     * @return the trainable tensors by saved name
     */
    public Map<String, Tensor> trainableParameters() {
        return state.trainableParameters();
    }

    /**
     * Every adapter tensor by PEFT's saved name (trainable or not), in a stable order.
     *
     * @return the tensors by saved name
     */
    public Map<String, Tensor> adapterTensors() {
        return state.tuner().adapterTensors();
    }

    /**
     * Switches the adapter off until the handle is closed, giving the base model's outputs (DPO's reference model):
     * {@code try (var off = m.disableAdapter()) { ... }}. Nests.
     *
     * @return the handle that switches the adapter back on when closed
     * @throws IllegalStateException while merged
     */
    public DisabledAdapter disableAdapter() {
        return state.disable();
    }

    /**
     * Training mode (dropout on) or eval mode, for the whole model.
     *
     * @param on true for training mode, false for eval mode
     */
    public void train(boolean on) {
        base.train(on);
    }

    /**
     * Saves {@code adapter_config.json} and {@code adapter_model.safetensors} with PEFT's names into {@code dir},
     * atomically: written to a temporary sibling folder, then renamed (an existing {@code dir} is replaced).
     *
     * @param dir the adapter folder
     */
    public void save(Path dir) {
        state.save(dir);
    }

    /** Folds the adapter into the base weights (LoRA, DoRA, IA3); forward then costs what the base model costs. */
    public void merge() {
        state.tuner().merge();
    }

    /** Takes a merged adapter back out of the base weights. */
    public void unmerge() {
        state.tuner().unmerge();
    }

    /**
     * True while merged.
     *
     * @return whether the adapter is merged into the base weights
     */
    public boolean isMerged() {
        return state.tuner().isMerged();
    }

    /**
     * Trainable and total parameter counts, printed like PEFT's {@code print_trainable_parameters}.
     *
     * @return the counts
     */
    public TrainableReport trainableReport() {
        return state.report();
    }

    /** Merges the adapter if it is not merged yet and removes its wrappers; the public subclass returns the base. */
    final M mergeAndUnloadBase() {
        if (!isMerged()) {
            merge();
        }
        state.unload();
        return base;
    }
}
