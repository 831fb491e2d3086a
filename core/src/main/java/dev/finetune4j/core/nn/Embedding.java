package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.EmbeddingLookup;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** A lookup table of {@code weight} (num, dim). */
public final class Embedding extends Module {
    /**
     * A table of {@code num} embeddings of {@code dim} floats, zero until loaded or initialised.
     *
     * @param scope owns the weight's memory
     * @param num number of rows (the vocabulary size)
     * @param dim size of each embedding
     */
    public Embedding(TensorScope scope, int num, int dim) {
        registerParameter("weight", Tensor.zeros(scope, DType.F32, Shape.of(num, dim)));
    }

    /**
     * ids: [B][T] -> (B, T, dim).
     *
     * @param ids token ids, B rows of T ids each in [0, num)
     * @return the embeddings, (B, T, dim)
     */
    public Tensor forward(long[][] ids) {
        return EmbeddingLookup.lookup(parameter("weight"), ids);
    }

    /**
     * ids: [B][T] -> (B, T, dim), where the row {@code paddingIdx} takes no gradient, as torch's
     * {@code nn.Embedding(padding_idx=...)}: a padding token among the real ones (attended, so its output reaches the
     * loss) leaves that row as it is in training.
     *
     * @param ids token ids, B rows of T ids each in [0, num)
     * @param paddingIdx the row that takes no gradient, or -1 for none
     * @return the embeddings, (B, T, dim)
     */
    public Tensor forward(long[][] ids, long paddingIdx) {
        return EmbeddingLookup.lookup(parameter("weight"), ids, paddingIdx);
    }

    /**
     * The table.
     *
     * @return the weight, (num, dim)
     */
    public Tensor weight() {
        return parameter("weight");
    }
}
