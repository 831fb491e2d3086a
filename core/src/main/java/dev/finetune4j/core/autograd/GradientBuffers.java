package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Storage;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The memory of one backward pass, in a scope of its own: a gradient is freed as soon as no gradient still waiting
 * to be used shares its memory, and whatever a rule allocated besides the gradients it returned is freed when the
 * rule returns. The pass then needs the step's activations plus the gradients in flight (about one layer's), as
 * PyTorch's reference-counted tensors do, instead of keeping every gradient of the step until the step ends.
 */
final class GradientBuffers implements AutoCloseable {
    private final TensorScope scope = TensorScope.open();
    private final Map<Storage, Integer> uses = new IdentityHashMap<>();

    /** Where the next rule's allocations start. */
    long mark() {
        return scope.mark();
    }

    /** Frees what a rule allocated since {@code mark}, except the memory of the gradients in {@code returned}. */
    void releaseTemporaries(long mark, Tensor[] returned) {
        scope.releaseSince(mark, returned);
    }

    /** Counts one more waiting use of {@code g}'s memory. */
    void hold(Tensor g) {
        uses.merge(g.storage(), 1, Integer::sum);
    }

    /**
     * Whether {@code g} may be changed in place: this pass allocated its memory and no other waiting gradient
     * shares it.
     */
    boolean exclusive(Tensor g) {
        return uses.getOrDefault(g.storage(), 0) == 1 && scope.owns(g);
    }

    /** Ends one waiting use of {@code g}'s memory; frees the memory after its last use if this pass allocated it. */
    void drop(Tensor g) {
        Storage s = g.storage();
        int left = uses.get(s) - 1;
        if (left > 0) {
            uses.put(s, left);
            return;
        }
        uses.remove(s);
        if (scope.owns(g)) {
            scope.release(g);
        }
    }

    /** Frees every gradient still here (those of tensors whose rules never ran). */
    @Override
    public void close() {
        scope.close();
    }
}
