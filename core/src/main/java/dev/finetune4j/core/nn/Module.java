package dev.finetune4j.core.nn;

import dev.finetune4j.core.tensor.Tensor;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * A node in a model's tree: its own parameters and named children. Names join with dots into the keys of
 * {@link #stateDict()}, identical to Hugging Face's ({@code model.layers.0.self_attn.q_proj.weight}).
 *
 * <p>Children are looked up by name at forward time ({@link #layer}), so a PEFT method can swap a child for a
 * wrapper around it ({@link #replaceChild}) without the parent knowing.
 */
public abstract class Module {
    /** A module without parameters or children; subclasses register theirs in their constructors. */
    protected Module() {
    }

    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    /** The names of {@link #parameters} that are buffers ({@link #registerBuffer}). */
    private final Set<String> buffers = new HashSet<>();
    private boolean training;

    /**
     * Registers a parameter under {@code name}; returns it.
     *
     * @param name the parameter's name within this module, e.g. {@code weight}
     * @param value the tensor, owned by the caller's scope
     * @return {@code value}
     */
    protected final Tensor registerParameter(String name, Tensor value) {
        parameters.put(name, value.named(name));
        return value;
    }

    /**
     * Registers a buffer under {@code name}: a tensor of the state dict (loaded and saved by name as a parameter, as
     * transformers saves a persistent {@code nn.Buffer}) that never trains: {@link #requiresGrad(boolean)} leaves it
     * frozen and {@link #bufferNames()} names it for the tuners that pick parameters by name.
     *
     * @param name the buffer's name within this module, e.g. {@code layer_scalar}
     * @param value the tensor, owned by the caller's scope
     * @return {@code value}
     */
    protected final Tensor registerBuffer(String name, Tensor value) {
        buffers.add(name);
        return registerParameter(name, value);
    }

    /**
     * Registers a child module under {@code name}; returns it.
     *
     * @param <M> the child's type
     * @param name the child's name within this module, e.g. {@code self_attn}
     * @param child the child module
     * @return {@code child}
     */
    protected final <M extends Module> M registerChild(String name, M child) {
        children.put(name, child);
        return child;
    }

    /**
     * This module's own parameter {@code name} (not its children's).
     *
     * @param name the parameter's name, e.g. {@code weight}
     * @return the tensor
     */
    public final Tensor parameter(String name) {
        Tensor t = parameters.get(name);
        if (t == null) {
            throw new IllegalArgumentException("module " + getClass().getSimpleName() + " has no parameter '" + name + "'; it has " + parameters.keySet());
        }
        return t;
    }

    /**
     * Replaces a parameter tensor in place of the old one (used when loading or quantizing weights).
     *
     * @param name the name of an existing parameter of this module
     * @param value the new tensor, of the old one's shape (its dtype and device may differ)
     * @throws IllegalArgumentException when this module has no parameter {@code name}, or {@code value} has another
     *                                  shape: the module's forward pass is built around the old one's
     */
    public final void setParameter(String name, Tensor value) {
        Tensor old = parameter(name);
        if (!value.shape().equals(old.shape())) {
            throw new IllegalArgumentException("parameter '" + name + "' of " + getClass().getSimpleName() + " has shape "
                    + old.shape() + ", the replacement " + value + " does not; give it the same shape");
        }
        parameters.put(name, value.named(name));
    }

    /**
     * The direct child {@code name}.
     *
     * @param name the child's name
     * @return the child
     */
    public final Module child(String name) {
        Module m = children.get(name);
        if (m == null) {
            throw new IllegalArgumentException("module " + getClass().getSimpleName() + " has no child '" + name + "'; it has " + children.keySet());
        }
        return m;
    }

    /**
     * The direct child {@code name} as a unary layer (a Linear, or a PEFT wrapper around one).
     *
     * @param name the child's name, e.g. {@code q_proj}
     * @return the child as a layer
     */
    public final Layer layer(String name) {
        return (Layer) child(name);
    }

    /**
     * Swaps the direct child {@code name} for {@code replacement}; returns the previous child.
     *
     * @param name the name of an existing child
     * @param replacement the module to put in its place
     * @return the replaced child
     */
    public final Module replaceChild(String name, Module replacement) {
        Module old = child(name);
        children.put(name, replacement);
        return old;
    }

    /**
     * Direct children in registration order.
     *
     * @return an unmodifiable name-to-child map
     */
    public final Map<String, Module> children() {
        return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(children));
    }

    /**
     * Every module of the tree by dotted path ("" is this module), parents before children.
     *
     * @return a new ordered map from dotted path to module
     */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        visit("", (path, m) -> out.put(path, m));
        return out;
    }

    /**
     * Every parameter of the tree by dotted name, in registration order.
     *
     * @return a new ordered map from dotted name to tensor
     */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        visit("", (path, m) -> m.parameters.forEach((n, t) -> out.put(join(path, n), t)));
        return out;
    }

    /**
     * Parameters that currently require gradients.
     *
     * @return a new ordered map from dotted name to tensor
     */
    public final Map<String, Tensor> trainableParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        stateDict().forEach((n, t) -> {
            if (t.requiresGrad()) {
                out.put(n, t);
            }
        });
        return out;
    }

    /**
     * The dotted names of the tree's buffers ({@link #registerBuffer}): tensors of {@link #stateDict()} that never
     * train.
     *
     * @return a new ordered set of dotted names
     */
    public final Set<String> bufferNames() {
        Set<String> out = new LinkedHashSet<>();
        visit("", (path, m) -> m.parameters.keySet().stream().filter(m.buffers::contains)
                .forEach(n -> out.add(join(path, n))));
        return out;
    }

    /**
     * Sets requiresGrad on every parameter of the tree; buffers stay frozen.
     *
     * @param value true to train every parameter, false to freeze every parameter
     */
    public final void requiresGrad(boolean value) {
        visit("", (path, m) -> m.parameters.forEach((n, t) -> t.requiresGrad(value && !m.buffers.contains(n))));
    }

    /**
     * Switches dropout and similar behaviour for the whole tree.
     *
     * @param on true for training mode, false for evaluation mode
     */
    public final void train(boolean on) {
        visit("", (p, m) -> m.training = on);
    }

    /**
     * Whether this module is in training mode (see {@link #train}).
     *
     * @return true while training
     */
    public final boolean isTraining() {
        return training;
    }

    private void visit(String path, BiConsumer<String, Module> action) {
        action.accept(path, this);
        children.forEach((n, c) -> c.visit(join(path, n), action));
    }

    private static String join(String path, String name) {
        return path.isEmpty() ? name : path + "." + name;
    }
}
