package dev.finetune4j.core.nn;

/** A plain level of the module tree with no computation of its own (Hugging Face's grouping nn.Modules). */
public final class Container extends Module {
    /** An empty container. */
    public Container() {
    }

    /**
     * Adds a child and returns it.
     *
     * @param <M> the child's type
     * @param name the child's name
     * @param m the child
     * @return {@code m}
     */
    public <M extends Module> M add(String name, M m) {
        return registerChild(name, m);
    }
}
