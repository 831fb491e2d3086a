package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

/** Row lookup in an embedding table; backward scatters (adds) the gradient rows back into the table. */
public final class EmbeddingLookup {
    private EmbeddingLookup() {
    }

    /** weight: (V, C), ids: [B][T] -> (B, T, C). */
    public static Tensor lookup(Tensor weight, long[][] ids) {
        int vocab = weight.dim(0);
        int c = weight.dim(1);
        int bs = ids.length;
        int t = bs == 0 ? 0 : ids[0].length;
        float[] w = Buffers.read(weight);
        float[] out = new float[bs * t * c];
        for (int b = 0; b < bs; b++) {
            if (ids[b].length != t) {
                throw new IllegalArgumentException("input rows must have equal length: row 0 has " + t + ", row " + b + " has " + ids[b].length + "; pad them");
            }
            for (int p = 0; p < t; p++) {
                long id = ids[b][p];
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException("token id " + id + " at [" + b + "][" + p + "] is outside the vocabulary [0, " + vocab + ")");
                }
                System.arraycopy(w, (int) id * c, out, (b * t + p) * c, c);
            }
        }
        Tensor result = Buffers.tensor(out, Shape.of(bs, t, c));
        return Autograd.record("embedding", result, dOut -> {
            float[] d = Buffers.read(dOut);
            float[] g = new float[w.length];
            for (int b = 0; b < bs; b++) {
                for (int p = 0; p < t; p++) {
                    int src = (b * t + p) * c;
                    int dst = (int) ids[b][p] * c;
                    for (int i = 0; i < c; i++) {
                        g[dst + i] += d[src + i];
                    }
                }
            }
            return new Tensor[]{Buffers.tensor(g, weight.shape())};
        }, weight);
    }
}
