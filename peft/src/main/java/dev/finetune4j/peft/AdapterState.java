package dev.finetune4j.peft;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What {@link PeftModel} and {@link PeftClassifier} share: the config, the injected {@link Tuner}, saving,
 * loading, enabling and the parameter report.
 *
 * <p>Thread safety: not thread-safe.
 */
final class AdapterState {
    static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private final Module root;
    private final PeftConfig config;
    private final Tuner tuner;
    private final Map<String, Object> configFacts;
    private int disabled;
    private boolean unloaded;
    private List<String> warnings = List.of();

    AdapterState(Module root, PeftConfig config, Tuner tuner, Map<String, Object> configFacts) {
        this.root = root;
        this.config = config;
        this.tuner = tuner;
        this.configFacts = Map.copyOf(configFacts);
    }

    PeftConfig config() {
        return config;
    }

    /** What loading found questionable about the base model (empty for a fresh adapter). */
    List<String> warnings() {
        return warnings;
    }

    void warnings(List<String> value) {
        warnings = List.copyOf(value);
    }

    Tuner tuner() {
        checkLoaded();
        return tuner;
    }

    Map<String, Tensor> trainableParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        tuner().adapterTensors().forEach((n, t) -> {
            if (t.requiresGrad()) {
                out.put(n, t);
            }
        });
        return Collections.unmodifiableMap(out);
    }

    /** Trainable and total parameters (NF4 weights count as the values they hold). */
    TrainableReport report() {
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long all = Stream.concat(root.stateDict().values().stream(), tuner().adapterTensors().values().stream())
                .filter(seen::add).mapToLong(Tensor::numel).sum();
        long trainable = seen.stream().filter(Tensor::requiresGrad).mapToLong(Tensor::numel).sum();
        return new TrainableReport(trainable, all);
    }

    DisabledAdapter disable() {
        if (tuner().isMerged()) {
            throw new IllegalStateException("the adapter is merged into the base weights, so it cannot be switched off; call unmerge() first");
        }
        disabled++;
        tuner.setEnabled(false);
        boolean[] closed = {false};
        return () -> {
            if (!closed[0]) {
                closed[0] = true;
                if (--disabled == 0) {
                    tuner.setEnabled(true);
                }
            }
        };
    }

    /**
     * Copies every tensor of the read weights file into the adapter, checking names and shapes. The file's module
     * paths are read in the base model's naming ({@link LanguageModel#currentName}: an adapter saved on Gemma 3
     * under transformers 4.50's names fits); tensors of modules the base model leaves out
     * ({@link LanguageModel#modulesLeftOut}: a vision tower, adapted by a PEFT adapter of the whole checkpoint) are
     * passed over and returned.
     *
     * @param base the base model, or null for a classifier (whose naming never changed)
     */
    List<String> loadWeights(AdapterFiles files, LanguageModel base) {
        Map<String, Tensor> target = tuner().adapterTensors();
        Map<String, Tensor> file = new LinkedHashMap<>();
        files.weights().forEach((name, t) -> file.put(base == null || !name.startsWith(LayerTuner.SAVED_PREFIX) ? name
                : LayerTuner.SAVED_PREFIX + base.currentName(name.substring(LayerTuner.SAVED_PREFIX.length())), t));
        List<String> modulesLeftOut = base == null ? List.of() : base.modulesLeftOut();
        List<String> passedOver = new ArrayList<>();
        StringBuilder problems = new StringBuilder();
        for (Map.Entry<String, Tensor> e : target.entrySet()) {
            Tensor src = file.get(e.getKey());
            if (src == null) {
                problems.append("\n  missing tensor '").append(e.getKey()).append("' (shape ").append(e.getValue().shape()).append(')');
            } else if (!src.shape().equals(e.getValue().shape())) {
                problems.append("\n  tensor '").append(e.getKey()).append("' has shape ").append(src.shape())
                        .append(" in the file, the base model and adapter_config.json imply ").append(e.getValue().shape());
            } else if (!src.dtype().isFloatingPoint()) {
                problems.append("\n  tensor '").append(e.getKey()).append("' is ").append(src.dtype()).append(", expected a float type");
            }
        }
        for (String name : file.keySet()) {
            if (!target.containsKey(name) && modulesLeftOut.stream().anyMatch(m -> name.startsWith(LayerTuner.SAVED_PREFIX + m + "."))) {
                passedOver.add(name);
            } else if (!target.containsKey(name)) {
                problems.append("\n  unexpected tensor '").append(name).append("' (no such adapter module in this base model)");
            }
        }
        if (!problems.isEmpty()) {
            throw new PeftException(AdapterFiles.weightsFile(files.dir()) + " does not fit the base model with " + AdapterConfigJson.FILE
                    + " (check that the adapter was trained for this model and its r / target_modules):" + problems);
        }
        target.forEach((n, t) -> AdapterWeights.copyInto(file.get(n), t));
        return passedOver;
    }

    /** Writes config and weights as an adapter folder ({@link AdapterFiles#write}: all or nothing). */
    void save(Path dir) {
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            AdapterFiles.write(dir, config, tuner().savedTensors(), configFacts);
        }
    }

    void unload() {
        tuner().unload();
        unloaded = true;
    }

    private void checkLoaded() {
        if (unloaded) {
            throw new IllegalStateException("the adapter was unloaded by mergeAndUnload(); use the returned base model");
        }
    }
}
