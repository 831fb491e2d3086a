package dev.finetune4j.peft;

import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code modules_to_save}: a trainable copy of a whole module (typically a classifier head) next to the
 * frozen original, which {@link #setEnabled(boolean) disabling} the adapter brings back. Saved under the module's
 * own names ({@code base_model.model.classifier.weight}).
 *
 * <p>Thread safety: not thread-safe.
 */
public final class ModulesToSave extends Module implements Layer, AdapterLayer {
    private boolean enabled = true;

    private ModulesToSave(Linear original, Linear copy) {
        registerChild("original_module", original);
        registerChild("modules_to_save", copy);
    }

    /**
     * Wraps {@code module} (a Linear) with a trainable copy allocated in {@code scope}.
     *
     * @param module the module to copy
     * @param path its dotted path
     * @param scope owns the copy
     * @return the wrapper
     */
    public static ModulesToSave wrap(Module module, String path, TensorScope scope) {
        if (!(module instanceof Linear l)) {
            throw new PeftException("modules_to_save entry '" + path + "' is a " + module.getClass().getSimpleName()
                    + "; modules to save must be Linear layers (classifier or score heads) or modules made of them");
        }
        Linear copy = new Linear(scope, l.inFeatures(), l.outFeatures(), l.hasBias(), l.fanInFanOut());
        copy.stateDict().forEach((n, t) -> AdapterWeights.copyInto(l.parameter(n), t));
        return new ModulesToSave(l, copy);
    }

    /**
     * Wraps every module whose path ends with one of {@code names} and is not inside an already-wrapped module; names
     * that match nothing are ignored, as PEFT ignores its default "score" for BERT. The suffix is PEFT's plain one
     * ({@code _set_trainable}), not at a dot boundary: "classifier" also wraps DistilBERT's {@code pre_classifier}.
     * A matched module made of linear layers (RoBERTa's {@code classifier}: {@code dense} and {@code out_proj}) has
     * each of them wrapped: PEFT copies the whole module, and saves the copy under the same names.
     *
     * @param ctx the model being wrapped
     * @param names the module names to train fully
     * @param existing the swaps made so far (their insides are skipped)
     * @return the new swaps
     * @throws PeftException when a matched module holds parameters outside linear layers, or an adapter's layer
     */
    public static List<LayerTuner.Swap> wrapAll(PeftContext ctx, List<String> names, List<LayerTuner.Swap> existing) {
        List<LayerTuner.Swap> out = new ArrayList<>();
        if (names == null) {
            return out;
        }
        Map<String, Module> tree = ctx.root().namedModules();
        for (String path : tree.keySet()) {
            boolean inside = existing.stream().anyMatch(s -> path.startsWith(s.path() + "."));
            if (!path.isEmpty() && !inside && names.stream().anyMatch(path::endsWith)) {
                for (String linear : linearLayers(tree, path)) {
                    out.add(LayerTuner.swap(ctx.root(), linear, m -> wrap(m, linear, ctx.scope())));
                }
            }
        }
        return out;
    }

    /**
     * The module at {@code path} when it is a Linear or a leaf (which {@link #wrap} refuses), else the linear layers
     * that hold all its parameters.
     */
    private static List<String> linearLayers(Map<String, Module> tree, String path) {
        Module module = tree.get(path);
        if (module instanceof Linear || module.children().isEmpty()) {
            return List.of(path);
        }
        List<String> linears = tree.entrySet().stream()
                .filter(e -> e.getKey().startsWith(path + ".") && e.getValue() instanceof Linear).map(Map.Entry::getKey).toList();
        long inLinears = linears.stream().mapToLong(l -> tree.get(l).stateDict().size()).sum();
        if (linears.isEmpty() || inLinears != module.stateDict().size()) {
            throw new PeftException("modules_to_save entry '" + path + "' holds parameters outside linear layers ("
                    + module.stateDict().keySet() + "; linear layers: " + linears + "): modules to save must be linear "
                    + "layers or modules made of them, without an adapter's layers inside (a target_modules entry "
                    + "matching inside a module to save)");
        }
        return linears;
    }

    /**
     * The trainable copy's tensors under the names PEFT saves ({@code <prefix>.weight}, {@code <prefix>.bias}).
     *
     * @param prefix the saved name of the wrapped module
     * @return the copy's tensors by saved name
     */
    public Map<String, Tensor> savedTensors(String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        child("modules_to_save").stateDict().forEach((n, t) -> out.put(prefix + "." + n, t));
        return out;
    }

    @Override
    public Tensor forward(Tensor x) {
        return layer(enabled ? "modules_to_save" : "original_module").forward(x);
    }

    @Override
    public Module baseLayer() {
        return child("original_module");
    }

    @Override
    public void setEnabled(boolean on) {
        enabled = on;
    }

    /** The module that stays in the tree on unload: the trained copy, as PEFT's merge_and_unload keeps it. */
    Module unloadTarget() {
        return child(enabled ? "modules_to_save" : "original_module");
    }
}
