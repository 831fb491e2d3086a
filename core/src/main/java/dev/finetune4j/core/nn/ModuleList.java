package dev.finetune4j.core.nn;

import java.util.ArrayList;
import java.util.List;

/**
 * An indexed list of children named "0", "1", ... as PyTorch's nn.ModuleList.
 *
 * @param <M> the children's type
 */
public final class ModuleList<M extends Module> extends Module {
    private final List<M> items = new ArrayList<>();

    /**
     * A list of {@code modules}, registered as children {@code "0"}, {@code "1"}, ... in order.
     *
     * @param modules the children
     */
    public ModuleList(List<M> modules) {
        for (M m : modules) {
            registerChild(String.valueOf(items.size()), m);
            items.add(m);
        }
    }

    /**
     * The child at index {@code i}.
     *
     * @param i the index, in [0, size())
     * @return the child
     */
    public M get(int i) {
        return items.get(i);
    }

    /**
     * The number of children.
     *
     * @return the size
     */
    public int size() {
        return items.size();
    }
}
