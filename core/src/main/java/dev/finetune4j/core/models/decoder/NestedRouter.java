package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;

/**
 * Granite's router, a module that holds its linear layer as {@code layer} ({@code block_sparse_moe.router.layer}), as
 * the published checkpoints name it.
 */
final class NestedRouter extends Module implements Layer {
    NestedRouter(Linear layer) {
        registerChild("layer", layer);
    }

    /** x: (N, C) -> the experts' scores, (N, E). */
    @Override
    public Tensor forward(Tensor x) {
        return layer("layer").forward(x);
    }
}
