package dev.finetune4j.core.models.bert;

import dev.finetune4j.core.nn.Container;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Module;

import java.util.function.BiFunction;

/** Modules at dotted Hugging Face paths ({@code attention.self.query}) under a module, with containers on the way. */
final class ModulePaths {
    private ModulePaths() {
    }

    /**
     * Puts {@code m} at {@code path} under {@code root}, making the {@link Container}s the path passes through.
     *
     * @param root the module the path starts from
     * @param registerOnRoot {@code root}'s own registration of a direct child (its protected {@code registerChild})
     * @param path the dotted path, e.g. {@code attention.self.query}
     * @param m the module to put there
     * @return {@code m}
     */
    static <M extends Module> M put(Module root, BiFunction<String, Module, Module> registerOnRoot, String path, M m) {
        String[] parts = path.split("\\.");
        Module parent = root;
        for (int i = 0; i < parts.length; i++) {
            Module existing = parent.children().get(parts[i]);
            Module next = existing != null ? existing : i == parts.length - 1 ? m : new Container();
            if (existing == null) {
                if (parent == root) {
                    registerOnRoot.apply(parts[i], next);
                } else {
                    ((Container) parent).add(parts[i], next);
                }
            }
            parent = next;
        }
        return m;
    }

    /**
     * The module at {@code path} under {@code root}.
     *
     * @param root the module the path starts from
     * @param path the dotted path
     * @return the module there
     */
    static Module get(Module root, String path) {
        Module m = root;
        for (String part : path.split("\\.")) {
            m = m.child(part);
        }
        return m;
    }

    /**
     * The unary layer at {@code path} under {@code root} (a Linear, or a PEFT wrapper around one).
     *
     * @param root the module the path starts from
     * @param path the dotted path
     * @return the layer there
     */
    static Layer layer(Module root, String path) {
        return (Layer) get(root, path);
    }
}
