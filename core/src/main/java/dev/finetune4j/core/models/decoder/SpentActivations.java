package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Frees a decoder activation as soon as the layer has used it, where the layer knows that no backward rule reads
 * it: a projection's output that only feeds a view, rotary embeddings or a residual add. PyTorch frees such tensors
 * by reference counting; a step scope would keep them to its end (about a tenth of a LoRA step's memory). Were a
 * rule to read one after all, the backward would fail with "tensor used after its memory was released" instead of
 * reading freed memory.
 */
final class SpentActivations {
    private SpentActivations() {
    }

    /**
     * Frees {@code spent} unless the current scope does not own its memory or one of {@code survivors} shares it
     * (a view or a reshape that needed no copy).
     */
    static void free(Tensor spent, Tensor... survivors) {
        TensorScope scope = TensorScope.current();
        if (!scope.owns(spent)) {
            return;
        }
        for (Tensor s : survivors) {
            if (s.storage() == spent.storage()) {
                return;
            }
        }
        scope.release(spent);
    }
}
