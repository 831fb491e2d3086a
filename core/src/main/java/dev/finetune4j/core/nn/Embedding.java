package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.EmbeddingLookup;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Arrays;

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
     * @param paddingIdx the row that takes no gradient
     * @return the embeddings, (B, T, dim)
     */
    public Tensor forward(long[][] ids, long paddingIdx) {
        Tensor x = forward(ids);
        if (!Autograd.needsGrad(weight())) {
            return x;
        }
        int b = ids.length;
        int t = ids[0].length;
        if (Arrays.stream(ids).flatMapToLong(Arrays::stream).noneMatch(id -> id == paddingIdx)) {
            return x;
        }
        float[] keep = new float[b * t];
        float[] drop = new float[b * t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                boolean pad = ids[i][j] == paddingIdx;
                keep[i * t + j] = pad ? 0f : 1f;
                drop[i * t + j] = pad ? 1f : 0f;
            }
        }
        // x * keep + detach(x) * drop: the same values, with the padding positions cut from the graph
        Tensor kept = Tensor.of(x.device(), TensorScope.current(), keep, Shape.of(b, t, 1));
        Tensor cut = Elementwise.mul(x.detach(), Tensor.of(x.device(), TensorScope.current(), drop, Shape.of(b, t, 1)));
        return Elementwise.add(Elementwise.mul(x, kept), cut);
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
