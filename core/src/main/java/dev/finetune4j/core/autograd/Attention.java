package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.tensor.Tensor;

import java.util.stream.IntStream;

/**
 * Scaled dot-product attention, softmax(q k^T * scale + mask) v, with grouped-query attention: query head h
 * reads key/value head {@code h / (H / Hkv)}. Masked scores are -inf; a query with no visible key outputs 0.
 * The products run through the backend's gemm per (batch, head); the mask is built once per batch row.
 */
public final class Attention {
    private Attention() {
    }

    /**
     * q: (B, H, T, D), k and v: (B, Hkv, S, D) with S >= T and H a multiple of Hkv -> (B, H, T, D).
     */
    public static Tensor scaledDotProduct(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale) {
        int bs = q.dim(0);
        int h = q.dim(1);
        int t = q.dim(2);
        int d = q.dim(3);
        int hkv = k.dim(1);
        int s = k.dim(2);
        if (h % hkv != 0 || k.dim(3) != d || v.dim(2) != s || s < t) {
            throw new IllegalArgumentException("attention: q " + q.shape() + ", k " + k.shape() + ", v " + v.shape()
                    + " do not fit (need H % Hkv == 0, equal head dims, S >= T)");
        }
        int group = h / hkv;
        float[] qv = Buffers.read(q);
        float[] kv = Buffers.read(k);
        float[] vv = Buffers.read(v);
        float[][] bias = maskBias(mask, bs, t, s);
        float[] probs = new float[bs * h * t * s];
        float[] out = new float[bs * h * t * d];
        Backend be = Buffers.backend();
        IntStream.range(0, bs * h).parallel().forEach(bh -> {
            int b = bh / h;
            int kvBase = (b * hkv + (bh % h) / group) * s * d;
            int po = bh * t * s;
            // scores = q k^T: (T, D) x (S, D)^T
            be.gemm(qv, bh * t * d, false, kv, kvBase, true, probs, po, t, s, d, false);
            for (int i = 0; i < t; i++) {
                int row = po + i * s;
                for (int j = 0; j < s; j++) {
                    probs[row + j] = probs[row + j] * scale + bias[b][i * s + j];
                }
                Softmax.softmaxRow(probs, row, s);
            }
            // out = p v: (T, S) x (S, D)
            be.gemm(probs, po, false, vv, kvBase, false, out, bh * t * d, t, d, s, false);
        });
        Tensor result = Buffers.tensor(out, q.shape());
        return Autograd.record("attention", result, dOut -> {
            float[] dov = Buffers.read(dOut);
            float[] dq = new float[qv.length];
            float[] dk = new float[kv.length];
            float[] dv = new float[vv.length];
            // One task per key/value head so that the query heads sharing it accumulate dk, dv without races.
            IntStream.range(0, bs * hkv).parallel().forEach(bg -> {
                int b = bg / hkv;
                int kvBase = bg * s * d;
                float[] ds = new float[t * s];
                for (int hh = (bg % hkv) * group; hh < (bg % hkv + 1) * group; hh++) {
                    int bh = b * h + hh;
                    int po = bh * t * s;
                    int qo = bh * t * d;
                    // (forward: out = p v) dv += p^T dOut: (S, T) x (T, D)
                    be.gemm(probs, po, true, dov, qo, false, dv, kvBase, s, d, t, true);
                    // dp = dOut v^T: (T, D) x (S, D)^T
                    be.gemm(dov, qo, false, vv, kvBase, true, ds, 0, t, s, d, false);
                    // (forward: p = softmax(scores)) dscores = p * (dp - sum(dp * p)), times scale
                    for (int i = 0; i < t; i++) {
                        int row = i * s;
                        float dot = 0f;
                        for (int j = 0; j < s; j++) {
                            dot += ds[row + j] * probs[po + row + j];
                        }
                        for (int j = 0; j < s; j++) {
                            ds[row + j] = probs[po + row + j] * (ds[row + j] - dot) * scale;
                        }
                    }
                    // (forward: scores = q k^T) dq = ds k: (T, S) x (S, D); dk += ds^T q: (S, T) x (T, D)
                    be.gemm(ds, 0, false, kv, kvBase, false, dq, qo, t, d, s, false);
                    be.gemm(ds, 0, true, qv, qo, false, dk, kvBase, s, d, t, true);
                }
            });
            return new Tensor[]{Buffers.tensor(dq, q.shape()), Buffers.tensor(dk, k.shape()), Buffers.tensor(dv, v.shape())};
        }, q, k, v);
    }

    /** Per batch row, (T, S) additive bias: 0 where the query may see the key, -inf elsewhere. */
    private static float[][] maskBias(AttentionMask mask, int bs, int t, int s) {
        int past = s - t;
        boolean perRow = mask.keyValid() != null || mask.segments() != null;
        float[][] bias = new float[bs][];
        for (int b = 0; b < bs; b++) {
            if (!perRow && b > 0) {
                bias[b] = bias[0]; // causal-only masks are the same for every row
                continue;
            }
            bias[b] = new float[t * s];
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < s; j++) {
                    if (!mask.allows(b, past + i, j)) {
                        bias[b][i * s + j] = Float.NEGATIVE_INFINITY;
                    }
                }
            }
        }
        return bias;
    }
}
