package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.EmbeddingLookup;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** A lookup table of {@code weight} (num, dim). */
public final class Embedding extends Module {
    public Embedding(TensorScope scope, int num, int dim) {
        registerParameter("weight", Tensor.zeros(scope, DType.F32, Shape.of(num, dim)));
    }

    /** ids: [B][T] -> (B, T, dim). */
    public Tensor forward(long[][] ids) {
        return EmbeddingLookup.lookup(parameter("weight"), ids);
    }

    public Tensor weight() {
        return parameter("weight");
    }
}
