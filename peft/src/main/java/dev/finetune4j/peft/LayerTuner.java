package dev.finetune4j.peft;

import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The {@link Tuner} of every method that wraps modules of the base model (LoRA, DoRA, IA3, bottleneck adapters,
 * modules to save): it remembers each swap so that {@link #unload()} can put the originals back.
 *
 * <p>Thread safety: not thread-safe.
 */
public final class LayerTuner implements Tuner {
    /** The prefix PEFT puts before base-model paths in saved tensor names. */
    public static final String SAVED_PREFIX = "base_model.model.";

    private final List<Swap> swaps;
    private final Map<String, Tensor> tensors;
    private boolean merged;

    /**
     * A tuner over the given swaps and saved tensors.
     *
     * @param swaps   the wrappers put into the tree, in injection order
     * @param tensors saved name -> live tensor, in the order to save
     */
    public LayerTuner(List<Swap> swaps, Map<String, Tensor> tensors) {
        this.swaps = List.copyOf(swaps);
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }

    /**
     * One module replaced by a wrapper.
     *
     * @param parent   the module whose child was replaced
     * @param name     the child's name in {@code parent}
     * @param path     the child's dotted path from the model's root
     * @param original the module that was there
     * @param wrapper  the module now there
     */
    public record Swap(Module parent, String name, String path, Module original, Module wrapper) {
    }

    /**
     * Replaces the module at dotted {@code path} under {@code root} by {@code wrap(original)}.
     *
     * @param root the model's root module
     * @param path the dotted path of the module to replace
     * @param wrap makes the wrapper from the original module
     * @return the swap, to undo it later
     */
    public static Swap swap(Module root, String path, Function<Module, Module> wrap) {
        int dot = path.lastIndexOf('.');
        Module parent = dot < 0 ? root : root.namedModules().get(path.substring(0, dot));
        String name = path.substring(dot + 1);
        Module original = parent.child(name);
        Module wrapper = wrap.apply(original);
        parent.replaceChild(name, wrapper);
        return new Swap(parent, name, path, original, wrapper);
    }

    /**
     * The wrappers, in injection order.
     *
     * @return the swaps
     */
    public List<Swap> swaps() {
        return swaps;
    }

    @Override
    public Map<String, Tensor> adapterTensors() {
        return tensors;
    }

    @Override
    public void setEnabled(boolean on) {
        for (Swap s : swaps) {
            ((AdapterLayer) s.wrapper()).setEnabled(on);
        }
    }

    @Override
    public void merge() {
        if (merged) {
            throw new IllegalStateException("the adapter is already merged; call unmerge() first");
        }
        for (Swap s : swaps) {
            if (!(s.wrapper() instanceof ModulesToSave)) {
                ((AdapterLayer) s.wrapper()).merge();
            }
        }
        merged = true;
    }

    @Override
    public void unmerge() {
        if (!merged) {
            throw new IllegalStateException("the adapter is not merged; nothing to unmerge");
        }
        for (Swap s : swaps.reversed()) {
            if (!(s.wrapper() instanceof ModulesToSave)) {
                ((AdapterLayer) s.wrapper()).unmerge();
            }
        }
        merged = false;
    }

    @Override
    public boolean isMerged() {
        return merged;
    }

    @Override
    public void unload() {
        for (Swap s : swaps.reversed()) {
            Module back = s.wrapper() instanceof ModulesToSave m ? m.unloadTarget() : s.original();
            s.parent().replaceChild(s.name(), back);
        }
    }
}
