package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.backend.AttentionDropout;
import dev.finetune4j.core.backend.AttentionKernels;
import dev.finetune4j.core.backend.Philox;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Attention on the CPU through the array gemm, per (batch, head) and block of queries: the (rows, keys) scores
 * of one block are the only score matrix alive in a task, so memory grows with the sequence length, not its
 * square. A causal block of {@value #QUERY_BLOCK} queries computes scores only for the keys its last query can
 * see (about 40% of the work at 128 tokens), and under a sliding window none before its first query's window, so
 * that its work grows with the window, not the sequence. The backward recomputes each block's probabilities from the scores
 * and the forward's log-sum-exp, and a dropout mask from its key.
 */
final class CpuAttention implements AttentionKernels {
    /** Queries per causal block. */
    private static final int QUERY_BLOCK = 32;
    /** Upper bound on a bidirectional block's scores: short sequences run as one block, long ones stay bounded. */
    private static final int BLOCK_SCORES = 1 << 20;

    private final GemmKernel gemm;
    private final MathKernels math;

    CpuAttention(GemmKernel gemm, MathKernels math) {
        this.gemm = gemm;
        this.math = math;
    }

    /** The sizes of one call; offsets into q, k, v (and their gradients) are products of these, taken in long. */
    record Dims(int batch, int heads, int kvHeads, int queries, int keys, int headDim, int block) {
        static Dims of(Tensor q, Tensor k, AttentionMask mask) {
            return of(q.dim(0), q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3), mask.causal());
        }

        static Dims of(int batch, int heads, int kvHeads, int queries, int keys, int headDim, boolean causal) {
            int block = causal ? QUERY_BLOCK : Math.min(queries, Math.max(QUERY_BLOCK, BLOCK_SCORES / Math.max(1, keys)));
            return new Dims(batch, heads, kvHeads, queries, keys, headDim, Math.max(1, block));
        }

        /** Offset of query row {@code query} of (batch-head) {@code bh} in q, out, dOut, dq. */
        int queryOffset(int bh, int query) {
            return Math.toIntExact(((long) bh * queries + query) * headDim);
        }

        /** Offset of key/value head {@code kvHead} of batch row {@code b} in dk and dv (contiguous). */
        int kvOffset(int b, int kvHead) {
            return Math.toIntExact(((long) b * kvHeads + kvHead) * keys * headDim);
        }

        /**
         * Keys that queries before {@code queryEnd} may see at all: with a causal mask none past the last query's
         * own position, so their scores (all -inf) are neither computed nor differentiated.
         */
        int visibleKeys(AttentionMask mask, int queryEnd) {
            return mask.causal() ? Math.min(keys, keys - queries + queryEnd) : keys;
        }

        /**
         * The first key that queries from {@code queryStart} on may see: with a sliding window none before the first
         * query's window, so a block's scores span about window + block keys however long the sequence.
         */
        int firstVisibleKey(AttentionMask mask, int queryStart) {
            return mask.window() == 0 ? 0 : Math.max(0, keys - queries + queryStart - mask.window() + 1);
        }
    }

    /**
     * Where the rows of a key or value tensor (B, Hkv, S, D) lie: in the array behind its storage, read through its
     * batch and head strides (a KV cache's filled part, without copying it out), or in a contiguous copy.
     */
    record Rows(float[] values, long offset, long batchStride, long headStride) {
        static Rows of(Tensor t) {
            float[] storage = CpuTensors.storageArray(t);
            long[] strides = t.strides();
            if (storage != null && strides[3] == 1 && strides[2] == t.dim(3)) {
                return new Rows(storage, t.offset(), strides[0], strides[1]);
            }
            long head = (long) t.dim(2) * t.dim(3);
            return new Rows(CpuTensors.read(t), 0, t.dim(1) * head, head);
        }

        /** Offset of the first row of head {@code kvHead} of batch row {@code b}. */
        int base(int b, int kvHead) {
            return Math.toIntExact(offset + b * batchStride + kvHead * headStride);
        }
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, float softCap, Tensor sinks,
                          AttentionDropout dropout, Tensor out, Tensor logSumExp) {
        Dims dims = Dims.of(q, k, mask);
        int d = dims.headDim();
        int group = dims.heads() / dims.kvHeads();
        float[] qv = CpuTensors.read(q);
        Rows kr = Rows.of(k);
        Rows vr = Rows.of(v);
        AttentionKernels.requireOutputRows(out);
        float[] o = CpuTensors.viewOutput(out);
        float[] lse = CpuTensors.output(logSumExp);
        float[] sinkLogits = sinks == null ? null : CpuTensors.read(sinks);
        IntStream.range(0, dims.batch() * dims.heads()).parallel().forEach(bh -> {
            int b = bh / dims.heads();
            int kvHead = (bh % dims.heads()) / group;
            float sink = sinkLogits == null ? Float.NEGATIVE_INFINITY : sinkLogits[bh % dims.heads()];
            for (int i0 = 0; i0 < dims.queries(); i0 += dims.block()) {
                int rows = Math.min(dims.block(), dims.queries() - i0);
                int first = dims.firstVisibleKey(mask, i0);
                int keys = dims.visibleKeys(mask, i0 + rows) - first;
                int qo = dims.queryOffset(bh, i0);
                float[] p = scores(dims, qv, qo, kr.values(), kr.base(b, kvHead), mask, scale, softCap, b, i0, rows,
                        first, keys);
                for (int r = 0; r < rows; r++) {
                    lse[Math.toIntExact((long) bh * dims.queries() + i0 + r)] = softmaxRow(p, r * keys, keys, sink);
                }
                if (dropout != null) {
                    float[] keep = dropoutFactors(dropout, dims, bh, i0, rows, first, keys);
                    for (int e = 0; e < p.length; e++) {
                        p[e] *= keep[e];
                    }
                }
                // out = p v: (rows, keys) x (keys, D)
                gemm.gemm(p, 0, false, vr.values(), vr.base(b, kvHead) + first * d, false, o, qo, rows, d, keys, false);
            }
        });
        CpuTensors.commitView(out, o);
        CpuTensors.commit(logSumExp, lse);
    }

    /**
     * {@inheritDoc} The CPU takes the softmax backward's row sums over the keys (sum of dp * p, as the kernel
     * always did) rather than from {@code out}.
     */
    @Override
    public void attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, float softCap,
                                  AttentionDropout dropout, Tensor out, Tensor logSumExp, Tensor dOut, Tensor dq,
                                  Tensor dk, Tensor dv) {
        Dims dims = Dims.of(q, k, mask);
        int d = dims.headDim();
        int group = dims.heads() / dims.kvHeads();
        float[] qv = CpuTensors.read(q);
        Rows kr = Rows.of(k);
        Rows vr = Rows.of(v);
        float[] lse = CpuTensors.read(logSumExp);
        float[] dov = CpuTensors.read(dOut);
        float[] dqv = CpuTensors.output(dq);
        float[] dkv = CpuTensors.output(dk);
        float[] dvv = CpuTensors.output(dv);
        // One task per key/value head so that the query heads sharing it accumulate dk, dv without races.
        IntStream.range(0, dims.batch() * dims.kvHeads()).parallel().forEach(bg -> {
            int b = bg / dims.kvHeads();
            int kvBase = dims.kvOffset(b, bg % dims.kvHeads());
            int kBase = kr.base(b, bg % dims.kvHeads());
            int vBase = vr.base(b, bg % dims.kvHeads());
            int kvLength = dims.keys() * d;
            Arrays.fill(dkv, kvBase, kvBase + kvLength, 0f); // overwritten, not accumulated
            Arrays.fill(dvv, kvBase, kvBase + kvLength, 0f);
            for (int hh = (bg % dims.kvHeads()) * group; hh < (bg % dims.kvHeads() + 1) * group; hh++) {
                int bh = b * dims.heads() + hh;
                for (int i0 = 0; i0 < dims.queries(); i0 += dims.block()) {
                    int rows = Math.min(dims.block(), dims.queries() - i0);
                    int first = dims.firstVisibleKey(mask, i0);
                    int keys = dims.visibleKeys(mask, i0 + rows) - first;
                    int qo = dims.queryOffset(bh, i0);
                    int skipped = first * d; // rows of k, v, dk and dv before the block's first visible key
                    float[] p = scores(dims, qv, qo, kr.values(), kBase, mask, scale, softCap, b, i0, rows, first, keys);
                    float[] capSlope = softCap > 0 ? capSlopes(p, softCap) : null;
                    for (int r = 0; r < rows; r++) {
                        probabilitiesFromLogSumExp(p, r * keys, keys, lse[Math.toIntExact((long) bh * dims.queries() + i0 + r)]);
                    }
                    float[] keep = dropout == null ? null : dropoutFactors(dropout, dims, bh, i0, rows, first, keys);
                    float[] weights = keep == null ? p : new float[p.length];
                    for (int e = 0; keep != null && e < p.length; e++) {
                        weights[e] = p[e] * keep[e];
                    }
                    // (forward: out = weights v, the weights p or its dropout) dv += weights^T dOut:
                    // (keys, rows) x (rows, D)
                    gemm.gemm(weights, 0, true, dov, qo, false, dvv, kvBase + skipped, keys, d, rows, true);
                    // d weights = dOut v^T: (rows, D) x (keys, D)^T; dp = d weights times the mask's factors
                    float[] ds = new float[p.length];
                    gemm.gemm(dov, qo, false, vr.values(), vBase + skipped, true, ds, 0, rows, keys, d, false);
                    for (int e = 0; keep != null && e < p.length; e++) {
                        ds[e] *= keep[e];
                    }
                    // (forward: p = softmax(scores)) dscores = p * (dp - sum(dp * p)), times scale and the cap's slope
                    for (int r = 0; r < rows; r++) {
                        int row = r * keys;
                        float dot = 0f;
                        for (int j = 0; j < keys; j++) {
                            dot += ds[row + j] * p[row + j];
                        }
                        for (int j = 0; j < keys; j++) {
                            float slope = capSlope == null ? scale : scale * capSlope[row + j];
                            ds[row + j] = p[row + j] * (ds[row + j] - dot) * slope;
                        }
                    }
                    // (forward: scores = q k^T) dq = ds k: (rows, keys) x (keys, D); dk += ds^T q: (keys, rows) x (rows, D)
                    gemm.gemm(ds, 0, false, kr.values(), kBase + skipped, false, dqv, qo, rows, d, keys, false);
                    gemm.gemm(ds, 0, true, qv, qo, false, dkv, kvBase + skipped, keys, d, rows, true);
                }
            }
        });
        CpuTensors.commit(dq, dqv);
        CpuTensors.commit(dk, dkv);
        CpuTensors.commit(dv, dvv);
    }

    /**
     * The masked, scaled scores of queries {@code [i0, i0 + rows)} against the {@code keys} keys from {@code first}:
     * (rows, D) x (keys, D)^T, times {@code scale}, soft-capped when {@code softCap > 0}, -infinity where the mask
     * hides the key.
     */
    private float[] scores(Dims dims, float[] qv, int qo, float[] kv, int kBase, AttentionMask mask, float scale,
                           float softCap, int b, int i0, int rows, int first, int keys) {
        float[] p = new float[Math.multiplyExact(rows, keys)];
        gemm.gemm(qv, qo, false, kv, kBase + first * dims.headDim(), true, p, 0, rows, keys, dims.headDim(), false);
        int past = dims.keys() - dims.queries();
        for (int r = 0; r < rows; r++) {
            int queryPos = past + i0 + r;
            int row = r * keys;
            for (int j = 0; j < keys; j++) {
                p[row + j] = !mask.allows(b, queryPos, first + j) ? Float.NEGATIVE_INFINITY
                        : softCap > 0 ? softCap * (float) Math.tanh(p[row + j] * scale / softCap)
                        : p[row + j] * scale;
            }
        }
        return p;
    }

    /**
     * The dropout factors (0 or the keep scale) of the block of {@code rows} queries from {@code i0} of (batch-head)
     * {@code bh} against the {@code keys} keys from {@code first}, laid out as the block's scores.
     */
    private static float[] dropoutFactors(AttentionDropout dropout, Dims dims, int bh, int i0, int rows, int first,
                                          int keys) {
        float[] factors = new float[Math.multiplyExact(rows, keys)];
        for (int r = 0; r < rows; r++) {
            long rowStart = ((long) bh * dims.queries() + i0 + r) * dims.keys() + first;
            Philox.dropoutFactors(dropout.key(), dropout.p(), dropout.keepScale(), rowStart, factors, r * keys, keys);
        }
        return factors;
    }

    /**
     * d cap(s) / ds of each capped score {@code c * tanh(s / c)}: {@code 1 - tanh^2}, from the capped value itself
     * (0 for a masked score, whose probability is 0 anyway).
     */
    private static float[] capSlopes(float[] capped, float softCap) {
        float[] slopes = new float[capped.length];
        for (int i = 0; i < capped.length; i++) {
            float tanh = capped[i] / softCap;
            slopes[i] = capped[i] == Float.NEGATIVE_INFINITY ? 0f : 1f - tanh * tanh;
        }
        return slopes;
    }

    /**
     * In-place softmax of {@code a[o .. o+n)} with {@code sink} (-infinity for none) as one more logit in the
     * denominator (exponentials of the max-shifted scores, times 1/sum); returns the log of that denominator, or
     * -infinity (and a row of zeros) when every entry is masked and there is no sink.
     */
    private float softmaxRow(float[] a, int o, int n, float sink) {
        float max = Math.max(math.max(a, o, n), sink);
        if (max == Float.NEGATIVE_INFINITY) {
            Arrays.fill(a, o, o + n, 0f); // every key masked: no probability mass, no NaN
            return Float.NEGATIVE_INFINITY;
        }
        double sum = math.expInPlace(a, o, n, max) + (sink == Float.NEGATIVE_INFINITY ? 0 : Math.exp(sink - max));
        float inv = (float) (1.0 / sum);
        for (int i = o; i < o + n; i++) {
            a[i] *= inv;
        }
        return (float) (max + Math.log(sum));
    }

    /** Scores {@code a[o .. o+n)} become probabilities {@code exp(score - logSumExp)}; a fully masked row becomes zeros. */
    private void probabilitiesFromLogSumExp(float[] a, int o, int n, float logSumExp) {
        if (logSumExp == Float.NEGATIVE_INFINITY) {
            Arrays.fill(a, o, o + n, 0f);
        } else {
            math.expInPlace(a, o, n, logSumExp);
        }
    }
}
