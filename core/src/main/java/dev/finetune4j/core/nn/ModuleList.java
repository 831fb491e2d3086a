package dev.finetune4j.core.nn;

import java.util.ArrayList;
import java.util.List;

/** An indexed list of children named "0", "1", ... as PyTorch's nn.ModuleList. */
public final class ModuleList<M extends Module> extends Module {
    private final List<M> items = new ArrayList<>();

    public ModuleList(List<M> modules) {
        for (M m : modules) {
            registerChild(String.valueOf(items.size()), m);
            items.add(m);
        }
    }

    public M get(int i) {
        return items.get(i);
    }

    public int size() {
        return items.size();
    }
}
