package dev.finetune4j.core.nn;

/** A plain level of the module tree with no computation of its own (Hugging Face's grouping nn.Modules). */
public final class Container extends Module {
    /** Adds a child and returns it. */
    public <M extends Module> M add(String name, M m) {
        return registerChild(name, m);
    }
}
