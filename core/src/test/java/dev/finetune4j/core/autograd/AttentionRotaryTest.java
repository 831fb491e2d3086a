package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.AttentionDropout;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.backend.Philox;
import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Scaled dot-product attention (GQA, causal, padding, packed segments, sliding windows, soft caps, dropout), by the
 * kernels and composed from products, and rotary embeddings (whole and partial) vs float64.
 */
class AttentionRotaryTest {
    private static final int B = 2, H = 4, HKV = 2, T = 4, S = 6, D = 3;

    /**
     * Row 0: causal, packed segments [0 0 0 1 1 1]. Row 1: causal, padding at keys 0 and 5, segments
     * [0 0 0 0 0 1], so the last query (position 5, alone in segment 1, padded) sees no key and outputs 0.
     */
    private static final AttentionMask MASK = new AttentionMask(true,
            new boolean[][]{{true, true, true, true, true, true}, {false, true, true, true, true, false}},
            new int[][]{{0, 0, 0, 1, 1, 1}, {0, 0, 0, 0, 0, 1}});

    static double[] attention(double[] q, double[] k, double[] v, AttentionMask mask, double scale) {
        return attention(q, k, v, mask, scale, 0, B, H, HKV, T, S, D);
    }

    static double[] attention(double[] q, double[] k, double[] v, AttentionMask mask, double scale,
                              int B, int H, int HKV, int T, int S, int D) {
        return attention(q, k, v, mask, scale, 0, B, H, HKV, T, S, D);
    }

    /**
     * softmax(cap(q k^T scale) + mask) v in double, q (B, H, T, D), k and v (B, HKV, S, D); cap(s) = c tanh(s / c)
     * when {@code softCap} c > 0; a sliding window lets query position qp see keys j > qp - window (Hugging Face's
     * rule).
     */
    static double[] attention(double[] q, double[] k, double[] v, AttentionMask mask, double scale, double softCap,
                              int B, int H, int HKV, int T, int S, int D) {
        return attention(q, k, v, null, mask, scale, softCap, B, H, HKV, T, S, D);
    }

    /** As above, with each head's sink logit (gpt-oss) in the softmax's denominator when {@code sinks} is not null. */
    static double[] attention(double[] q, double[] k, double[] v, double[] sinks, AttentionMask mask, double scale,
                              double softCap, int B, int H, int HKV, int T, int S, int D) {
        return attention(q, k, v, sinks, null, mask, scale, softCap, B, H, HKV, T, S, D);
    }

    /**
     * As above, each probability then dropped out as {@link AttentionDropout} says: weight (b, h, i, j) kept, times
     * 1 / (1 - p), when Philox's uniform at ((b H + h) T + i) S + j is at least p.
     */
    static double[] attention(double[] q, double[] k, double[] v, double[] sinks, AttentionDropout dropout,
                              AttentionMask mask, double scale, double softCap, int B, int H, int HKV, int T, int S,
                              int D) {
        double[] out = new double[B * H * T * D];
        int past = S - T;
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                int g = h / (H / HKV);
                for (int i = 0; i < T; i++) {
                    int qp = past + i;
                    double[] w = new double[S];
                    double sink = sinks == null ? Double.NEGATIVE_INFINITY : sinks[h];
                    double max = sink;
                    for (int j = 0; j < S; j++) {
                        boolean visible = (!mask.causal() || j <= qp)
                                && (mask.window() == 0 || j > qp - mask.window())
                                && (mask.keyValid() == null || mask.keyValid()[b][j])
                                && (mask.segments() == null || mask.segments()[b][j] == mask.segments()[b][qp]);
                        double sc = 0;
                        for (int d = 0; d < D; d++) {
                            sc += q[((b * H + h) * T + i) * D + d] * k[((b * HKV + g) * S + j) * D + d];
                        }
                        double scaled = softCap > 0 ? softCap * Math.tanh(sc * scale / softCap) : sc * scale;
                        w[j] = visible ? scaled : Double.NEGATIVE_INFINITY;
                        max = Math.max(max, w[j]);
                    }
                    if (max == Double.NEGATIVE_INFINITY) {
                        continue; // no visible key: output stays 0
                    }
                    double sum = Math.exp(sink - max);
                    for (int j = 0; j < S; j++) {
                        w[j] = Math.exp(w[j] - max);
                        sum += w[j];
                    }
                    for (int j = 0; j < S; j++) {
                        long index = (((long) b * H + h) * T + i) * S + j;
                        double keep = dropout == null ? 1 : Philox.uniform(dropout.key(), index) < dropout.p() ? 0
                                : dropout.keepScale();
                        for (int d = 0; d < D; d++) {
                            out[((b * H + h) * T + i) * D + d] += w[j] / sum * keep
                                    * v[((b * HKV + g) * S + j) * D + d];
                        }
                    }
                }
            }
        }
        return out;
    }

    @Test
    void groupedQueryAttentionWithCausalPaddingAndSegmentMasks() {
        float scale = (float) (1 / Math.sqrt(D));
        GradCheck.of("attention GQA + masks", x -> Attention.scaledDotProduct(x[0], x[1], x[2], MASK, scale))
                .input(B, H, T, D).input(B, HKV, S, D).input(B, HKV, S, D)
                .reference(x -> attention(x[0], x[1], x[2], MASK, scale))
                .run();
    }

    @Test
    void unmaskedAndCausalOnly() {
        for (AttentionMask mask : new AttentionMask[]{AttentionMask.none(), AttentionMask.causalOnly()}) {
            GradCheck.of("attention " + mask.causal(), x -> Attention.scaledDotProduct(x[0], x[1], x[2], mask, 0.7f))
                    .input(B, H, T, D).input(B, HKV, S, D).input(B, HKV, S, D)
                    .reference(x -> attention(x[0], x[1], x[2], mask, 0.7f))
                    .run();
        }
    }

    /** 70 queries span three causal blocks of the kernel (32, 32, 6), each skipping different keys. */
    @Test
    void longCausalSequencesInQueryBlocks() {
        boolean[][] valid = new boolean[1][75];
        java.util.Arrays.fill(valid[0], true);
        valid[0][40] = false;
        for (AttentionMask mask : new AttentionMask[]{AttentionMask.causalOnly(), new AttentionMask(true, valid, null)}) {
            GradCheck.of("attention, 70 queries after 5 cached keys", x -> Attention.scaledDotProduct(x[0], x[1], x[2], mask, 0.6f))
                    .input(1, 4, 70, 3).input(1, 2, 75, 3).input(1, 2, 75, 3)
                    .reference(x -> attention(x[0], x[1], x[2], mask, 0.6f, 1, 4, 2, 70, 75, 3))
                    .run();
        }
    }

    /** A window of 2 over cached keys, padding and segments; a window of 20 across the kernel's causal blocks. */
    @Test
    void slidingWindows() {
        AttentionMask windowed = MASK.withWindow(2);
        GradCheck.of("attention, window 2", x -> Attention.scaledDotProduct(x[0], x[1], x[2], windowed, 0.7f))
                .input(B, H, T, D).input(B, HKV, S, D).input(B, HKV, S, D)
                .reference(x -> attention(x[0], x[1], x[2], windowed, 0.7f))
                .run();
        AttentionMask long20 = AttentionMask.causalOnly().withWindow(20);
        GradCheck.of("attention, 70 queries, window 20", x -> Attention.scaledDotProduct(x[0], x[1], x[2], long20, 0.6f))
                .input(1, 4, 70, 3).input(1, 2, 75, 3).input(1, 2, 75, 3)
                .reference(x -> attention(x[0], x[1], x[2], long20, 0.6f, 1, 4, 2, 70, 75, 3))
                .run();
    }

    /**
     * The attention composed from products and a softmax (for heads wider than the kernels take) vs float64, values
     * and gradients: GQA, padding, packed segments and a query that sees no key (it outputs 0), then a window of 2.
     */
    @Test
    void composedAttention() {
        for (AttentionMask mask : new AttentionMask[]{MASK, MASK.withWindow(2)}) {
            GradCheck.of("composed attention, window " + mask.window(),
                            x -> Attention.composed(x[0], x[1], x[2], mask, 0.7f))
                    .input(B, H, T, D).input(B, HKV, S, D).input(B, HKV, S, D)
                    .reference(x -> attention(x[0], x[1], x[2], mask, 0.7f))
                    .run();
        }
    }

    /** A cap of 0.5 on scores of N(0, 1) inputs (tanh far from linear), with and without a window. */
    @Test
    void softCappedScores() {
        for (AttentionMask mask : new AttentionMask[]{MASK, AttentionMask.causalOnly().withWindow(3)}) {
            GradCheck.of("attention, soft cap 0.5, window " + mask.window(),
                            x -> Attention.scaledDotProduct(x[0], x[1], x[2], mask, 0.9f, 0.5f))
                    .input(B, H, T, D).input(B, HKV, S, D).input(B, HKV, S, D)
                    .reference(x -> attention(x[0], x[1], x[2], mask, 0.9f, 0.5, B, H, HKV, T, S, D))
                    .run();
        }
    }

    /**
     * gpt-oss's sinks: one logit per head in each query's denominator (here about as large as the scores, so that
     * they take a visible share), their gradients included; with the padded query that sees no key.
     */
    @Test
    void attentionSinks() {
        for (AttentionMask mask : new AttentionMask[]{MASK, AttentionMask.causalOnly().withWindow(3)}) {
            GradCheck.of("attention with sinks, window " + mask.window(),
                            x -> Attention.scaledDotProduct(x[0], x[1], x[2], mask, 0.8f, 0f, x[3]))
                    .input(B, H, T, D).input(B, HKV, S, D).input(B, HKV, S, D).input(H)
                    .reference(x -> attention(x[0], x[1], x[2], x[3], mask, 0.8f, 0, B, H, HKV, T, S, D))
                    .run();
        }
    }

    /**
     * Dropout of the probabilities (p = 0.3): over GQA with padding and segments, with sinks and a window, and across
     * the kernel's causal blocks; the mask is the same in the forward and in the backward's recompute.
     */
    @Test
    void droppedOutProbabilities() {
        AttentionDropout dropout = new AttentionDropout(0.3f, new DropoutKey(11, 2, 5));
        GradCheck.of("attention with dropout", x -> Attention.scaledDotProduct(x[0], x[1], x[2], MASK, 0.8f, 0f, null,
                        dropout))
                .input(B, H, T, D).input(B, HKV, S, D).input(B, HKV, S, D)
                .reference(x -> attention(x[0], x[1], x[2], null, dropout, MASK, 0.8f, 0, B, H, HKV, T, S, D))
                .run();
        AttentionMask windowed = AttentionMask.causalOnly().withWindow(3);
        GradCheck.of("attention with dropout, sinks and a window", x -> Attention.scaledDotProduct(x[0], x[1], x[2],
                        windowed, 0.8f, 0.5f, x[3], dropout))
                .input(B, H, T, D).input(B, HKV, S, D).input(B, HKV, S, D).input(H)
                .reference(x -> attention(x[0], x[1], x[2], x[3], dropout, windowed, 0.8f, 0.5, B, H, HKV, T, S, D))
                .run();
        AttentionMask causal = AttentionMask.causalOnly();
        GradCheck.of("attention with dropout, 70 queries after 5 cached keys", x -> Attention.scaledDotProduct(x[0],
                        x[1], x[2], causal, 0.6f, 0f, null, dropout))
                .input(1, 4, 70, 3).input(1, 2, 75, 3).input(1, 2, 75, 3)
                .reference(x -> attention(x[0], x[1], x[2], null, dropout, causal, 0.6f, 0, 1, 4, 2, 70, 75, 3))
                .run();
    }

    /** About p of the visible weights are dropped: the mask is drawn per weight, not per row or per block. */
    @Test
    void dropoutDropsAboutItsShareOfWeights() {
        AttentionDropout dropout = new AttentionDropout(0.25f, new DropoutKey(3, 0, 0));
        int heads = 2, queries = 64, keys = 64, dim = 1;
        float[] out;
        try (var scope = TensorScope.open()) {
            Tensor q = Tensor.of(new float[heads * queries * dim], 1, heads, queries, dim);
            Tensor v = Tensor.of(filled(heads * keys, 1f), 1, heads, keys, dim);
            // zero scores: every weight is 1 / keys, so each output is (kept weights) / keys / (1 - p)
            out = Attention.scaledDotProduct(q, Tensor.of(new float[heads * keys], 1, heads, keys, dim), v,
                    AttentionMask.none(), 1f, 0f, null, dropout).toFloatArray();
        }
        double kept = 0;
        for (float o : out) {
            kept += o * keys / dropout.keepScale();
        }
        double share = 1 - kept / (heads * queries * keys);
        assertEquals(0.25, share, 0.02, "share of dropped weights");
    }

    private static float[] filled(int n, float value) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, value);
        return a;
    }

    /**
     * Under BF16_MIXED the output the sinks' gradient reads is the bf16 token-major one: the gradient agrees with
     * float32's to bf16's precision.
     */
    @Test
    void sinkGradientUnderBf16Mixed() {
        float[][] grads = new float[2][];
        for (Precision precision : new Precision[]{Precision.F32, Precision.BF16_MIXED}) {
            try (var s = TensorScope.open(); var p = precision.use()) {
                Tensor sinks = Tensor.of(GradCheck.randn(4, H), H).requiresGrad(true);
                Tensor out = Attention.scaledDotProduct(Tensor.of(GradCheck.randn(1, B * H * T * D), B, H, T, D),
                        Tensor.of(GradCheck.randn(2, B * HKV * S * D), B, HKV, S, D),
                        Tensor.of(GradCheck.randn(3, B * HKV * S * D), B, HKV, S, D), MASK, 0.8f, 0f, sinks);
                Autograd.backward(out, Tensor.of(GradCheck.randn(5, B * H * T * D), B, H, T, D));
                grads[precision.ordinal()] = sinks.grad().toFloatArray();
            }
        }
        for (int h = 0; h < H; h++) {
            assertEquals(grads[0][h], grads[1][h], 2e-2 * Math.abs(grads[0][h]) + 1e-3, "sink " + h);
        }
    }

    @Test
    void fullyMaskedQueryOutputsZero() {
        try (var s = TensorScope.open()) {
            Tensor out = Attention.scaledDotProduct(Tensor.of(GradCheck.randn(1, B * H * T * D), B, H, T, D),
                    Tensor.of(GradCheck.randn(2, B * HKV * S * D), B, HKV, S, D),
                    Tensor.of(GradCheck.randn(3, B * HKV * S * D), B, HKV, S, D), MASK, 1f);
            for (int h = 0; h < H; h++) {
                for (int d = 0; d < D; d++) {
                    assertArrayEquals(new float[]{0f}, new float[]{out.get(1, h, T - 1, d)});
                }
            }
        }
    }

    /** The first 2 x invFreq.length dimensions of each row rotated in pairs (i, i + half), the rest copied. */
    static double[] rotary(double[] x, int[][] pos, float[] invFreq, double scaling, int b, int h, int t, int d) {
        return rotary(x, pos, invFreq, scaling, b, h, t, d, RotaryLayout.HALVES);
    }

    /**
     * The first 2 x invFreq.length dimensions of each row rotated in pairs (i, i + half), or (2i, 2i + 1) when
     * interleaved, the rest copied.
     */
    static double[] rotary(double[] x, int[][] pos, float[] invFreq, double scaling, int b, int h, int t, int d,
                           RotaryLayout layout) {
        boolean interleaved = layout == RotaryLayout.INTERLEAVED;
        double[] y = x.clone();
        int half = invFreq.length;
        for (int bb = 0; bb < b; bb++) {
            for (int hh = 0; hh < h; hh++) {
                for (int p = 0; p < t; p++) {
                    int o = ((bb * h + hh) * t + p) * d;
                    for (int i = 0; i < half; i++) {
                        double a = pos[bb][p] * (double) invFreq[i];
                        double c = Math.cos(a) * scaling;
                        double s = Math.sin(a) * scaling;
                        int first = o + (interleaved ? 2 * i : i);
                        int second = first + (interleaved ? 1 : half);
                        y[first] = x[first] * c - x[second] * s;
                        y[second] = x[second] * c + x[first] * s;
                    }
                }
            }
        }
        return y;
    }

    /**
     * The decoder's case: rotary over the transposed view of a (B, T, H, D) projection, whose gradient the backward
     * writes in the projection's order.
     */
    @Test
    void rotaryOfATransposedProjection() {
        int[][] pos = {{0, 1, 2, 3, 4}, {7, 8, 9, 0, 1}};
        float[] invFreq = {1f, 0.1f, 0.01f};
        GradCheck.of("rotary of a transposed (B, T, H, D) input", x -> Rotary.apply(x[0].permute(0, 2, 1, 3), pos,
                        invFreq, 1f))
                .input(2, 5, 2, 6)
                .reference(x -> rotary(headsFirst(x[0], 2, 5, 2, 6), pos, invFreq, 1, 2, 2, 5, 6))
                .run();
    }

    /** Phi-4-mini's partial rotary embedding: 4 of 6 dimensions rotated, over a transposed projection. */
    @Test
    void partialRotary() {
        int[][] pos = {{0, 1, 2, 3, 4}, {7, 8, 9, 0, 1}};
        float[] invFreq = {1f, 0.1f};
        GradCheck.of("partial rotary", x -> Rotary.apply(x[0].permute(0, 2, 1, 3), pos, invFreq, 1.3f))
                .input(2, 5, 2, 6)
                .reference(x -> rotary(headsFirst(x[0], 2, 5, 2, 6), pos, invFreq, 1.3, 2, 2, 5, 6))
                .run();
    }

    /**
     * GLM's and Cohere's interleaved pairs (2i, 2i + 1), over a transposed projection: the whole head, then GLM's
     * half of it (4 of 8 dimensions rotated, the rest copied).
     */
    @Test
    void interleavedRotary() {
        int[][] pos = {{0, 1, 2, 3, 4}, {7, 8, 9, 0, 1}};
        for (float[] invFreq : new float[][]{{1f, 0.3f, 0.1f, 0.01f}, {1f, 0.1f}}) {
            GradCheck.of("interleaved rotary of " + 2 * invFreq.length + " of 8 dimensions",
                            x -> Rotary.apply(x[0].permute(0, 2, 1, 3), Rotary.Table.of(Device.cpu(), pos, invFreq, 1f),
                                    RotaryLayout.INTERLEAVED))
                    .input(2, 5, 2, 8)
                    .reference(x -> rotary(headsFirst(x[0], 2, 5, 2, 8), pos, invFreq, 1, 2, 2, 5, 8,
                            RotaryLayout.INTERLEAVED))
                    .run();
        }
    }

    /** (B, T, H, D) values in (B, H, T, D) order. */
    private static double[] headsFirst(double[] x, int b, int t, int h, int d) {
        double[] out = new double[x.length];
        for (int bb = 0; bb < b; bb++) {
            for (int p = 0; p < t; p++) {
                for (int hh = 0; hh < h; hh++) {
                    System.arraycopy(x, ((bb * t + p) * h + hh) * d, out, ((bb * h + hh) * t + p) * d, d);
                }
            }
        }
        return out;
    }

    @Test
    void rotaryWithPerRowPositionsAndScaling() {
        int[][] pos = {{0, 1, 2, 3, 4}, {7, 8, 9, 0, 1}};
        float[] invFreq = {1f, 0.1f, 0.01f};
        for (float scaling : new float[]{1f, 1.2f}) {
            GradCheck.of("rotary scaling " + scaling, x -> Rotary.apply(x[0], pos, invFreq, scaling))
                    .input(2, 2, 5, 6)
                    .reference(x -> rotary(x[0], pos, invFreq, scaling, 2, 2, 5, 6))
                    .run();
        }
    }
}
