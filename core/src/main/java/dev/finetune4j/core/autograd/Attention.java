package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;

import java.util.stream.IntStream;

/**
 * Scaled dot-product attention, softmax(q k^T * scale + mask) v, with grouped-query attention: query head h
 * reads key/value head {@code h / (H / Hkv)}. Masked scores are -inf; a query with no visible key outputs 0.
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
        int past = s - t;
        float[] qv = Buffers.floats(q);
        float[] kv = Buffers.floats(k);
        float[] vv = Buffers.floats(v);
        float[] probs = new float[bs * h * t * s];
        float[] out = new float[bs * h * t * d];
        IntStream.range(0, bs * h).parallel().forEach(bh -> {
            int b = bh / h;
            int kvBase = (b * hkv + (bh % h) / group) * s * d;
            for (int i = 0; i < t; i++) {
                int qo = (bh * t + i) * d;
                int po = (bh * t + i) * s;
                for (int j = 0; j < s; j++) {
                    if (mask.allows(b, past + i, j)) {
                        float dot = 0f;
                        int ko = kvBase + j * d;
                        for (int c = 0; c < d; c++) {
                            dot += qv[qo + c] * kv[ko + c];
                        }
                        probs[po + j] = dot * scale;
                    } else {
                        probs[po + j] = Float.NEGATIVE_INFINITY;
                    }
                }
                Softmax.softmaxRow(probs, po, s);
                for (int j = 0; j < s; j++) {
                    float p = probs[po + j];
                    if (p != 0f) {
                        int vo = kvBase + j * d;
                        for (int c = 0; c < d; c++) {
                            out[qo + c] += p * vv[vo + c];
                        }
                    }
                }
            }
        });
        Tensor result = Buffers.tensor(out, q.shape());
        return Autograd.record("attention", result, dOut -> {
            float[] dov = Buffers.floats(dOut);
            float[] dq = new float[qv.length];
            float[] dk = new float[kv.length];
            float[] dv = new float[vv.length];
            // One task per key/value head so that the heads sharing it accumulate dk, dv without races.
            IntStream.range(0, bs * hkv).parallel().forEach(bg -> {
                int b = bg / hkv;
                int kvBase = bg * s * d;
                float[] ds = new float[s];
                for (int hh = (bg % hkv) * group; hh < (bg % hkv + 1) * group; hh++) {
                    int bh = b * h + hh;
                    for (int i = 0; i < t; i++) {
                        int qo = (bh * t + i) * d;
                        int po = (bh * t + i) * s;
                        float rowDot = 0f;
                        for (int j = 0; j < s; j++) {
                            float p = probs[po + j];
                            float dp = 0f;
                            if (p != 0f) {
                                int vo = kvBase + j * d;
                                for (int c = 0; c < d; c++) {
                                    dp += dov[qo + c] * vv[vo + c];
                                    dv[vo + c] += p * dov[qo + c];
                                }
                            }
                            ds[j] = dp;
                            rowDot += p * dp;
                        }
                        for (int j = 0; j < s; j++) {
                            float p = probs[po + j];
                            if (p == 0f) {
                                continue;
                            }
                            float g = p * (ds[j] - rowDot) * scale;
                            int ko = kvBase + j * d;
                            for (int c = 0; c < d; c++) {
                                dq[qo + c] += g * kv[ko + c];
                                dk[ko + c] += g * qv[qo + c];
                            }
                        }
                    }
                }
            });
            return new Tensor[]{Buffers.tensor(dq, q.shape()), Buffers.tensor(dk, k.shape()), Buffers.tensor(dv, v.shape())};
        }, q, k, v);
    }
}
