package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;

import java.util.SplittableRandom;

/** Inverted dropout: zero each element with probability p and scale the survivors by 1/(1-p). */
public final class Dropout {
    private Dropout() {
    }

    /** x: any shape; identity when p == 0. The random stream makes runs reproducible from a seed. */
    public static Tensor apply(Tensor x, float p, SplittableRandom random) {
        if (p < 0 || p >= 1) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
        if (p == 0f) {
            return x;
        }
        float[] v = Buffers.floats(x);
        float[] mask = new float[v.length];
        float keep = 1f / (1f - p);
        for (int i = 0; i < v.length; i++) {
            mask[i] = random.nextDouble() < p ? 0f : keep;
            v[i] *= mask[i];
        }
        Tensor out = Buffers.tensor(v, x.shape());
        return Autograd.record("dropout", out, dOut -> {
            float[] g = Buffers.floats(dOut);
            for (int i = 0; i < g.length; i++) {
                g[i] *= mask[i];
            }
            return new Tensor[]{Buffers.tensor(g, x.shape())};
        }, x);
    }
}
