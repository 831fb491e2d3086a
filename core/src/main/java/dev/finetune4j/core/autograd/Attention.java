package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.tensor.Tensor;

import java.util.stream.IntStream;

/**
 * Scaled dot-product attention, softmax(q k^T * scale + mask) v, with grouped-query attention: query head h
 * reads key/value head {@code h / (H / Hkv)}. Masked scores are -inf; a query with no visible key outputs 0.
 * The products run through the backend's gemm per (batch, head) and block of {@value #QUERY_BLOCK} queries, which
 * under a causal mask skips the keys no query of the block can see (about 40% of the work at 128 tokens); the
 * mask is built once per batch row.
 */
public final class Attention {
    /** Queries per block: a causal block computes scores only for the keys its last query can see. */
    private static final int QUERY_BLOCK = 32;

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
        int block = mask.causal() ? QUERY_BLOCK : t; // without a causal mask every query sees every key
        var be = Buffers.backend();
        IntStream.range(0, bs * h).parallel().forEach(bh -> {
            int b = bh / h;
            int kvBase = (b * hkv + (bh % h) / group) * s * d;
            int po = bh * t * s;
            for (int i0 = 0; i0 < t; i0 += block) {
                int rows = Math.min(block, t - i0);
                int keys = visibleKeys(mask, i0 + rows, t, s);
                int qo = (bh * t + i0) * d;
                // scores = q k^T over the visible keys: (rows, D) x (keys, D)^T
                float[] p = new float[rows * keys];
                be.gemm(qv, qo, false, kv, kvBase, true, p, 0, rows, keys, d, false);
                for (int r = 0; r < rows; r++) {
                    int biasRow = (i0 + r) * s;
                    for (int j = 0; j < keys; j++) {
                        p[r * keys + j] = p[r * keys + j] * scale + bias[b][biasRow + j];
                    }
                    Softmax.softmaxRow(p, r * keys, keys);
                    System.arraycopy(p, r * keys, probs, po + biasRow, keys);
                }
                // out = p v: (rows, keys) x (keys, D)
                be.gemm(p, 0, false, vv, kvBase, false, out, qo, rows, d, keys, false);
            }
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
                for (int hh = (bg % hkv) * group; hh < (bg % hkv + 1) * group; hh++) {
                    int bh = b * h + hh;
                    for (int i0 = 0; i0 < t; i0 += block) {
                        int rows = Math.min(block, t - i0);
                        int keys = visibleKeys(mask, i0 + rows, t, s);
                        int qo = (bh * t + i0) * d;
                        float[] p = new float[rows * keys];
                        for (int r = 0; r < rows; r++) {
                            System.arraycopy(probs, (bh * t + i0 + r) * s, p, r * keys, keys);
                        }
                        // (forward: out = p v) dv += p^T dOut: (keys, rows) x (rows, D)
                        be.gemm(p, 0, true, dov, qo, false, dv, kvBase, keys, d, rows, true);
                        // dp = dOut v^T: (rows, D) x (keys, D)^T
                        float[] ds = new float[rows * keys];
                        be.gemm(dov, qo, false, vv, kvBase, true, ds, 0, rows, keys, d, false);
                        // (forward: p = softmax(scores)) dscores = p * (dp - sum(dp * p)), times scale
                        for (int r = 0; r < rows; r++) {
                            int row = r * keys;
                            float dot = 0f;
                            for (int j = 0; j < keys; j++) {
                                dot += ds[row + j] * p[row + j];
                            }
                            for (int j = 0; j < keys; j++) {
                                ds[row + j] = p[row + j] * (ds[row + j] - dot) * scale;
                            }
                        }
                        // (forward: scores = q k^T) dq = ds k: (rows, keys) x (keys, D); dk += ds^T q: (keys, rows) x (rows, D)
                        be.gemm(ds, 0, false, kv, kvBase, false, dq, qo, rows, d, keys, false);
                        be.gemm(ds, 0, true, qv, qo, false, dk, kvBase, keys, d, rows, true);
                    }
                }
            });
            return new Tensor[]{Buffers.tensor(dq, q.shape()), Buffers.tensor(dk, k.shape()), Buffers.tensor(dv, v.shape())};
        }, q, k, v);
    }

    /**
     * Keys that queries before {@code queryEnd} may see at all: with a causal mask none past the last query's own
     * position, so their scores (all -inf) are neither computed nor differentiated.
     */
    private static int visibleKeys(AttentionMask mask, int queryEnd, int t, int s) {
        return mask.causal() ? Math.min(s, s - t + queryEnd) : s;
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
