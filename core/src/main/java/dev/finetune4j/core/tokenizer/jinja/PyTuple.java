package dev.finetune4j.core.tokenizer.jinja;

import java.util.AbstractList;
import java.util.List;

/** A Python tuple: a list that prints as {@code (a, b)}, made by {@code (a, b)} literals and {@code items()}. */
final class PyTuple extends AbstractList<Object> {
    private final List<Object> items;

    PyTuple(List<Object> items) {
        this.items = items.stream().toList(); // Stream.toList keeps None (null) items, List.copyOf would not
    }

    @Override
    public Object get(int index) {
        return items.get(index);
    }

    @Override
    public int size() {
        return items.size();
    }
}
