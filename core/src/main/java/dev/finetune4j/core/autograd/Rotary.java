package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;

import java.util.stream.IntStream;

/**
 * Rotary position embedding (Su et al. 2021) in Hugging Face's "rotate half" layout: the first and second
 * halves of each head vector form the pairs (x1_i, x2_i) rotated by angle pos * invFreq_i:
 * out1 = x1 cos - x2 sin, out2 = x2 cos + x1 sin, with cos and sin scaled by {@code attentionScaling}
 * (1 except for YaRN).
 */
public final class Rotary {
    private Rotary() {
    }

    /**
     * The cos and sin tables of {@link #apply(Tensor, Table)} for the given positions.
     *
     * @param cos (B, T, D/2), already scaled
     * @param sin (B, T, D/2), already scaled
     */
    public record Table(int[][] positions, float[] cos, float[] sin, int half) {

        /** Angles pos * invFreq_i in float32 like PyTorch, then cos and sin scaled by {@code attentionScaling}. */
        public static Table of(int[][] positions, float[] invFreq, float attentionScaling) {
            int bs = positions.length;
            int t = bs == 0 ? 0 : positions[0].length;
            int half = invFreq.length;
            float[] cos = new float[bs * t * half];
            float[] sin = new float[bs * t * half];
            for (int b = 0; b < bs; b++) {
                for (int p = 0; p < t; p++) {
                    for (int i = 0; i < half; i++) {
                        float angle = positions[b][p] * invFreq[i];
                        cos[(b * t + p) * half + i] = (float) Math.cos(angle) * attentionScaling;
                        sin[(b * t + p) * half + i] = (float) Math.sin(angle) * attentionScaling;
                    }
                }
            }
            return new Table(positions, cos, sin, half);
        }
    }

    /** {@link #apply(Tensor, Table)} with a table made for this call. */
    public static Tensor apply(Tensor x, int[][] positions, float[] invFreq, float attentionScaling) {
        return apply(x, Table.of(positions, invFreq, attentionScaling));
    }

    /**
     * x: (B, H, T, D), table for B x T positions and D/2 frequencies -> (B, H, T, D).
     * Backward applies the inverse rotation: dx1 = d1 cos + d2 sin, dx2 = d2 cos - d1 sin.
     */
    public static Tensor apply(Tensor x, Table table) {
        int bs = x.dim(0);
        int h = x.dim(1);
        int t = x.dim(2);
        int d = x.dim(3);
        if (table.half() != d / 2 || table.cos().length != bs * t * (d / 2)) {
            throw new IllegalArgumentException("rotary: a table of " + table.half() + " frequencies for "
                    + table.cos().length / Math.max(1, table.half()) + " positions does not fit " + x.shape());
        }
        float[] cos = table.cos();
        float[] sin = table.sin();
        float[] xv = Buffers.read(x);
        float[] y = rotate(xv, cos, sin, bs, h, t, d, false);
        Tensor out = Buffers.tensor(y, x.shape());
        return Autograd.record("rotary", out, dOut -> new Tensor[]{
                Buffers.tensor(rotate(Buffers.read(dOut), cos, sin, bs, h, t, d, true), x.shape())}, x);
    }

    private static float[] rotate(float[] xv, float[] cos, float[] sin, int bs, int h, int t, int d, boolean inverse) {
        int half = d / 2;
        float[] y = new float[xv.length];
        float sign = inverse ? -1f : 1f;
        IntStream.range(0, bs * h).parallel().forEach(bh -> {
            int b = bh / h;
            for (int p = 0; p < t; p++) {
                int o = (bh * t + p) * d;
                int c = (b * t + p) * half;
                for (int i = 0; i < half; i++) {
                    float x1 = xv[o + i];
                    float x2 = xv[o + half + i];
                    float cs = cos[c + i];
                    float sn = sign * sin[c + i];
                    y[o + i] = x1 * cs - x2 * sn;
                    y[o + half + i] = x2 * cs + x1 * sn;
                }
            }
        });
        return y;
    }
}
