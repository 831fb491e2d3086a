package dev.finetune4j.peft;

import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What putting an adapter on a base model changes, recorded before it starts, so that a failure halfway (a module to
 * save refused after the LoRA layers are in, weights that do not fit) leaves the model as it was: the module at every
 * path, which parameters require gradients, and the memory of its parameter scope.
 *
 * <p>Thread safety: not thread-safe; nothing may use the model while it is restored.
 */
final class BaseModelSnapshot {
    private final Map<String, Module> modules;
    private final Set<Tensor> trainable = Collections.newSetFromMap(new IdentityHashMap<>());
    private final TensorScope scope;
    private final long mark;

    private BaseModelSnapshot(Module root, TensorScope scope) {
        this.modules = root.namedModules();
        root.stateDict().values().stream().filter(Tensor::requiresGrad).forEach(trainable::add);
        this.scope = scope;
        this.mark = scope.mark();
    }

    /**
     * Records the model's tree, its gradient flags and how far its scope has allocated.
     *
     * @param root  the model's root module
     * @param scope the scope the adapter's tensors will be allocated in (the model's parameter scope)
     */
    static BaseModelSnapshot take(Module root, TensorScope scope) {
        return new BaseModelSnapshot(root, scope);
    }

    /** Puts every module back at its path and every gradient flag as it was, and frees what the scope allocated since. */
    void restore() {
        Module root = modules.get("");
        modules.forEach((path, module) -> {
            int dot = path.lastIndexOf('.');
            if (!path.isEmpty()) {
                modules.get(dot < 0 ? "" : path.substring(0, dot)).replaceChild(path.substring(dot + 1), module);
            }
        });
        root.stateDict().values().forEach(t -> t.requiresGrad(trainable.contains(t)));
        scope.releaseSince(mark);
    }
}
