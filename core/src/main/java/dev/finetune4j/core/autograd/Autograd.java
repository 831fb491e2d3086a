package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Collections;

/**
 * Reverse-mode automatic differentiation over recorded {@link GradNode}s.
 *
 * <p>Ops call {@link #record} after computing their output; {@link #backward} walks the graph from a scalar
 * in reverse topological order, and leaf tensors that require gradients accumulate them in
 * {@link Tensor#grad()} (allocated in the leaf's scope). Recording is per thread and can be switched off with
 * {@link #noGrad()} for inference.
 */
public final class Autograd {
    private static final ThreadLocal<int[]> DISABLED = ThreadLocal.withInitial(() -> new int[1]);
    /** What a rule that cannot accumulate is offered: no accumulator for any input. */
    private static final Tensor[] NO_ACCUMULATORS = new Tensor[0];

    private Autograd() {
    }

    /**
     * True when ops on this thread record their backward rules.
     *
     * @return whether recording is on
     */
    public static boolean isEnabled() {
        return DISABLED.get()[0] == 0;
    }

    /**
     * Disables recording on this thread until the returned handle is closed:
     * {@code try (var ng = Autograd.noGrad()) { ... }}. Nests.
     *
     * @return the handle that turns recording back on when closed
     */
    public static NoGrad noGrad() {
        DISABLED.get()[0]++;
        return new NoGrad();
    }

    /** Handle returned by {@link #noGrad()}; closing it restores recording. It belongs to the thread that opened it. */
    public static final class NoGrad implements AutoCloseable {
        private final Thread owner = Thread.currentThread();
        private boolean closed;

        private NoGrad() {
        }

        /**
         * Turns recording back on (once every handle of this thread is closed); a second close does nothing.
         *
         * @throws IllegalStateException when called from another thread than the one that opened it
         */
        @Override
        public void close() {
            if (!closed) {
                requireOwner(owner, "noGrad");
                closed = true;
                DISABLED.get()[0]--;
            }
        }
    }

    /**
     * Recording is per thread: a handle closed on another thread would change that thread's state (a count below
     * zero there turns recording off for good) and leave the owner's as it was.
     */
    private static void requireOwner(Thread owner, String what) {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("an Autograd." + what + "() handle must be closed by the thread that opened "
                    + "it ('" + owner.getName() + "'), not by '" + Thread.currentThread().getName()
                    + "'; use try-with-resources on that thread");
        }
    }

    /**
     * Turns recording on for this thread until the returned handle is closed, even inside {@link #noGrad()} or a
     * backward pass (gradient checkpointing re-runs a layer's forward with recording on during the backward).
     *
     * @return the handle that restores the previous state when closed
     */
    public static EnableGrad enableGrad() {
        int[] disabled = DISABLED.get();
        EnableGrad handle = new EnableGrad(disabled[0]);
        disabled[0] = 0;
        return handle;
    }

    /**
     * Handle returned by {@link #enableGrad()}; closing it restores the recording state from before. It belongs to
     * the thread that opened it.
     */
    public static final class EnableGrad implements AutoCloseable {
        private final Thread owner = Thread.currentThread();
        private final int savedDepth;
        private boolean closed;

        private EnableGrad(int savedDepth) {
            this.savedDepth = savedDepth;
        }

        /**
         * Restores the recording state from before; a second close does nothing.
         *
         * @throws IllegalStateException when called from another thread than the one that opened it
         */
        @Override
        public void close() {
            if (!closed) {
                requireOwner(owner, "enableGrad");
                closed = true;
                DISABLED.get()[0] = savedDepth;
            }
        }
    }

    /**
     * True when recording is on and any input needs a gradient.
     *
     * @param inputs an op's inputs; null entries are skipped
     * @return whether the op must record a backward rule
     */
    public static boolean needsGrad(Tensor... inputs) {
        if (!isEnabled()) {
            return false;
        }
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Attaches a backward rule to {@code out} when any input requires a gradient; returns {@code out}.
     *
     * @param name the op's name, for error messages
     * @param out the op's result
     * @param backward maps the gradient of {@code out} to the inputs' gradients
     * @param inputs the tensors the op read
     * @return {@code out}
     */
    public static Tensor record(String name, Tensor out, GradNode.Backward backward, Tensor... inputs) {
        if (needsGrad(inputs)) {
            out.setGradFn(new GradNode(name, inputs, backward));
        }
        return out;
    }

    /**
     * {@link #record(String, Tensor, GradNode.Backward, Tensor...)} for a rule that can add its gradients into those
     * accumulated so far ({@link GradNode.Accumulating}).
     *
     * @param name the op's name, for error messages
     * @param out the op's result
     * @param backward maps the gradient of {@code out} to the inputs' gradients, given where they may be accumulated
     * @param inputs the tensors the op read
     * @return {@code out}
     */
    public static Tensor record(String name, Tensor out, GradNode.Accumulating backward, Tensor... inputs) {
        return record(name, out, (GradNode.Backward) backward, inputs);
    }

    /**
     * Back-propagates from a scalar (one-element) tensor, seeding its gradient with 1.
     *
     * @param loss a one-element tensor, e.g. a mean loss
     */
    public static void backward(Tensor loss) {
        if (loss.numel() != 1) {
            throw new IllegalArgumentException("backward needs a scalar loss, got shape " + loss.shape()
                    + "; reduce it first (for example Reductions.mean)");
        }
        Tensor seed = Tensor.zeros(loss.device(), loss.shape());
        seed.backend().copy().fill(seed, 1f);
        backward(loss, seed);
    }

    /**
     * Back-propagates {@code dOut} (shaped like {@code out}) through the graph that produced {@code out}.
     *
     * @param out a tensor produced by recorded ops
     * @param dOut the gradient of {@code out}, same shape
     */
    public static void backward(Tensor out, Tensor dOut) {
        if (!out.requiresGrad()) {
            throw new IllegalStateException("the tensor does not require a gradient: no parameter it depends on "
                    + "has requiresGrad(true), or it was computed under Autograd.noGrad()");
        }
        List<Tensor> order = topologicalOrder(out);
        Map<Tensor, Tensor> grads = new IdentityHashMap<>();
        // gradients are float32 under every precision (see Precision)
        try (var ng = noGrad(); var f32 = Precision.F32.use(); var buffers = new GradientBuffers()) {
            grads.put(out, dOut);
            buffers.hold(dOut);
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                Tensor g = grads.remove(t);
                if (g == null) {
                    continue;
                }
                GradNode node = t.gradFn();
                if (node == null) {
                    accumulateLeaf(t, g);
                    buffers.drop(g);
                    continue;
                }
                Tensor[] into = accumulators(node, grads, buffers);
                long mark = buffers.mark();
                Tensor[] inputGrads = node.backward().apply(g, into);
                Tensor[] used = new Tensor[inputGrads.length];
                for (int k = 0; k < node.inputs().length; k++) {
                    Tensor in = node.inputs()[k];
                    boolean added = inputGrads[k] != null && inputGrads[k] == GradNode.Accumulating.of(into, k);
                    if (in != null && in.requiresGrad() && inputGrads[k] != null && !added) {
                        checkShape(node, k, in, inputGrads[k]);
                        used[k] = inputGrads[k];
                        buffers.hold(used[k]);
                    }
                }
                buffers.releaseTemporaries(mark, used);
                // The node has done its work: dropping it (and the list's hold on t) lets the activations its rule
                // captured be collected (the step scope frees their memory when it closes).
                t.setGradFn(consumed(node));
                order.set(i, null);
                for (int k = 0; k < used.length; k++) {
                    if (used[k] == null) {
                        continue;
                    }
                    Tensor in = node.inputs()[k];
                    Tensor prev = grads.get(in);
                    if (prev == null) {
                        grads.put(in, used[k]);
                        continue;
                    }
                    Tensor sum = Elementwise.add(prev, used[k]);
                    buffers.hold(sum);
                    grads.put(in, sum);
                    buffers.drop(prev);
                    buffers.drop(used[k]);
                }
                buffers.drop(g);
            }
        }
    }

    /**
     * For an {@link GradNode.Accumulating} rule, the gradients accumulated so far that it may add into in place (see
     * there), per input; none for other rules.
     */
    private static Tensor[] accumulators(GradNode node, Map<Tensor, Tensor> grads, GradientBuffers buffers) {
        if (!(node.backward() instanceof GradNode.Accumulating)) {
            return NO_ACCUMULATORS;
        }
        Tensor[] into = new Tensor[node.inputs().length];
        for (int k = 0; k < into.length; k++) {
            Tensor in = node.inputs()[k];
            Tensor prev = in == null ? null : grads.get(in);
            if (prev != null && prev.dtype() == DType.F32 && prev.isContiguous() && prev.shape().equals(in.shape())
                    && buffers.exclusive(prev)) {
                into[k] = prev;
            }
        }
        return into;
    }

    /** What stays of a node after its backward ran: its name, and an error for a second backward. */
    private static GradNode consumed(GradNode node) {
        return new GradNode(node.name(), new Tensor[0], dOut -> {
            throw new IllegalStateException("backward through " + node.name() + " a second time: the graph's "
                    + "saved tensors were freed after the first backward; run the forward pass again");
        });
    }

    private static void checkShape(GradNode node, int k, Tensor in, Tensor g) {
        if (!g.shape().equals(in.shape())) {
            throw new IllegalStateException("backward of " + node.name() + " produced gradient " + g.shape()
                    + " for input " + k + " of shape " + in.shape());
        }
    }

    private static void accumulateLeaf(Tensor leaf, Tensor g) {
        Tensor acc = leaf.grad();
        if (acc == null) {
            acc = Tensor.zeros(leaf.scope(), leaf.device(), DType.F32, leaf.shape());
            leaf.setGrad(acc);
        }
        Elementwise.addInPlace(acc, g);
    }

    /** Nodes reachable from {@code root}, each after all of its inputs. */
    private static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        // Iterative DFS: deep graphs (many layers x many ops) would overflow the call stack.
        List<Object[]> stack = new ArrayList<>();
        stack.add(new Object[]{root, 0});
        visited.add(root);
        while (!stack.isEmpty()) {
            Object[] frame = stack.getLast();
            Tensor t = (Tensor) frame[0];
            int next = (int) frame[1];
            Tensor[] inputs = t.gradFn() == null ? new Tensor[0] : t.gradFn().inputs();
            if (next < inputs.length) {
                frame[1] = next + 1;
                Tensor in = inputs[next];
                if (in != null && in.requiresGrad() && visited.add(in)) {
                    stack.add(new Object[]{in, 0});
                }
            } else {
                stack.removeLast();
                order.add(t);
            }
        }
        return order;
    }
}
