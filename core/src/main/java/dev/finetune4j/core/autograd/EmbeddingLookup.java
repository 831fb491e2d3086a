package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

/** Row lookup in an embedding table; backward scatters (adds) the gradient rows back into the table. */
public final class EmbeddingLookup {
    private EmbeddingLookup() {
    }

    /**
     * weight: (V, C), ids: [B][T] -> (B, T, C). The ids are checked on the host, then uploaded to weight's device
     * ({@link IndexSelect#rows(Tensor, long[])}).
     *
     * @param weight the embedding table, (V, C)
     * @param ids token ids in [0, V), B rows of T
     * @return the embeddings, (B, T, C)
     */
    public static Tensor lookup(Tensor weight, long[][] ids) {
        return lookup(weight, ids, -1);
    }

    /**
     * {@link #lookup(Tensor, long[][])} whose backward leaves row {@code paddingIdx} of the table untrained, as torch's
     * {@code nn.Embedding(padding_idx=...)}: a padding token among the real ones (attended, so its output reaches the
     * loss) does not move its row.
     *
     * @param weight the embedding table, (V, C)
     * @param ids token ids in [0, V), B rows of T
     * @param paddingIdx the row that takes no gradient, or -1 for none
     * @return the embeddings, (B, T, C)
     */
    public static Tensor lookup(Tensor weight, long[][] ids, long paddingIdx) {
        int vocab = weight.dim(0);
        int c = weight.dim(1);
        int bs = ids.length;
        int t = bs == 0 ? 0 : ids[0].length;
        long[] flat = new long[Math.multiplyExact(bs, t)];
        for (int b = 0; b < bs; b++) {
            if (ids[b].length != t) {
                throw new IllegalArgumentException("input rows must have equal length: row 0 has " + t + ", row " + b + " has " + ids[b].length + "; pad them");
            }
            for (int p = 0; p < t; p++) {
                long id = ids[b][p];
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException("token id " + id + " at [" + b + "][" + p + "] is outside the vocabulary [0, " + vocab + ")");
                }
                flat[b * t + p] = id;
            }
        }
        return IndexSelect.rows(weight, Tensor.ofLongs(weight.device(), flat, Shape.of(flat.length)), paddingIdx)
                .reshape(bs, t, c);
    }
}
