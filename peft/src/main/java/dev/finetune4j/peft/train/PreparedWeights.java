package dev.finetune4j.peft.train;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The trainable weights as they were when the current preparation ({@link Objective#prepareStep}, GRPO's generation)
 * was made, copied on their device while the later steps it serves run: a checkpoint taken between those steps saves
 * them, so that the resumed run makes the same preparation again ({@link Checkpoints}). Closing it frees the copies.
 * Not thread-safe: the training loop's thread owns it.
 */
final class PreparedWeights implements AutoCloseable {
    private TensorScope scope;
    private Map<String, Tensor> copies = Map.of();

    /** Replaces the kept copies with copies of {@code parameters} as they are now (no read-back). */
    void take(Map<String, Tensor> parameters) {
        close();
        scope = TensorScope.detached();
        Map<String, Tensor> out = new LinkedHashMap<>();
        parameters.forEach((name, p) -> out.put(name, p.copyTo(p.device(), scope)));
        copies = out;
    }

    /** The kept copies by parameter name; empty before the first {@link #take}. */
    Map<String, Tensor> tensors() {
        return copies;
    }

    @Override
    public void close() {
        if (scope != null) {
            scope.close();
            scope = null;
            copies = Map.of();
        }
    }
}
