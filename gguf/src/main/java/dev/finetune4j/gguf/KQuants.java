package dev.finetune4j.gguf;

import dev.finetune4j.core.tensor.DTypeConversions;

import java.nio.ByteBuffer;

/**
 * ggml's reference quantizers for its super-block ("K") types, as llama.cpp's {@code llama-quantize} runs them
 * without an importance matrix ({@code quantize_row_q4_K_ref}, {@code _q5_K_ref}, {@code _q6_K_ref} in
 * ggml-quants.c). Every step is taken in float32 in ggml's order, so the bytes equal llama.cpp's: a K-quant export is
 * the file llama.cpp would make from the float32 one. Each method appends the blocks of one row (a multiple of 256
 * values) to {@code out}, little-endian.
 */
final class KQuants {
    static final int SUPER_BLOCK = 256;
    /** ggml's {@code GROUP_MAX_EPS}: a group whose largest magnitude is below it is all zeros. */
    private static final float GROUP_MAX_EPS = 1e-15f;

    private KQuants() {
    }

    /**
     * {@code block_q4_K}: float16 d and dmin, twelve bytes of eight 6-bit scales and mins, then 128 bytes of nibbles;
     * sub-block j (32 values) decodes as {@code d * scale_j * q - dmin * min_j}.
     */
    static void q4K(float[] row, ByteBuffer out) {
        int[] q = new int[SUPER_BLOCK];
        for (int start = 0; start < row.length; start += SUPER_BLOCK) {
            byte[] header = scaledMinBlock(row, start, 15, -1f, 20, q);
            out.put(header);
            putNibbles(q, out);
        }
    }

    /**
     * {@code block_q5_K}: Q4_K's header, then 32 bytes of fifth bits and 128 of nibbles; quants run 0..31.
     */
    static void q5K(float[] row, ByteBuffer out) {
        int[] q = new int[SUPER_BLOCK];
        for (int start = 0; start < row.length; start += SUPER_BLOCK) {
            byte[] header = scaledMinBlock(row, start, 31, -0.5f, 15, q);
            out.put(header);
            // fifth bits: byte j holds, for each 64-value half pair p, bit 2p of value 64p + j and bit 2p+1 of 64p+32+j
            byte[] high = new byte[32];
            for (int p = 0; p < SUPER_BLOCK / 64; p++) {
                for (int j = 0; j < 32; j++) {
                    high[j] |= (byte) (((q[64 * p + j] >> 4) << (2 * p)) | ((q[64 * p + 32 + j] >> 4) << (2 * p + 1)));
                }
            }
            out.put(high);
            putNibbles(q, out);
        }
    }

    /**
     * {@code block_q6_K}: 128 bytes of low nibbles, 64 of high bit pairs, sixteen int8 scales, then a float16 d;
     * sub-block j (16 values) decodes as {@code d * scale_j * (q - 32)}.
     */
    static void q6K(float[] row, ByteBuffer out) {
        int[] l = new int[SUPER_BLOCK];
        float[] scales = new float[SUPER_BLOCK / 16];
        for (int start = 0; start < row.length; start += SUPER_BLOCK) {
            float maxScale = 0f;
            float maxAbsScale = 0f;
            for (int b = 0; b < scales.length; b++) {
                float scale = symmetricScale(row, start + 16 * b, l, 16 * b);
                scales[b] = scale;
                if (Math.abs(scale) > maxAbsScale) {
                    maxAbsScale = Math.abs(scale);
                    maxScale = scale;
                }
            }
            if (maxAbsScale < GROUP_MAX_EPS) {
                out.put(new byte[210]);
                continue;
            }
            float iscale = -128f / maxScale;
            short d = DTypeConversions.floatToF16(1 / iscale);
            byte[] blockScales = new byte[scales.length];
            for (int b = 0; b < scales.length; b++) {
                blockScales[b] = (byte) Math.min(127, nearestInt(iscale * scales[b]));
            }
            for (int b = 0; b < scales.length; b++) {
                float step = DTypeConversions.f16ToFloat(d) * blockScales[b];
                if (step == 0f) {
                    continue; // keeps the sub-block's quants from the scale search, as ggml does
                }
                for (int i = 0; i < 16; i++) {
                    l[16 * b + i] = Math.max(-32, Math.min(31, nearestInt(row[start + 16 * b + i] / step))) + 32;
                }
            }
            byte[] low = new byte[128];
            byte[] high = new byte[64];
            for (int half = 0; half < 2; half++) {
                int j = 128 * half;
                for (int i = 0; i < 32; i++) {
                    low[64 * half + i] = (byte) ((l[j + i] & 0xF) | (l[j + i + 64] & 0xF) << 4);
                    low[64 * half + i + 32] = (byte) ((l[j + i + 32] & 0xF) | (l[j + i + 96] & 0xF) << 4);
                    high[32 * half + i] = (byte) ((l[j + i] >> 4) | (l[j + i + 32] >> 4) << 2
                            | (l[j + i + 64] >> 4) << 4 | (l[j + i + 96] >> 4) << 6);
                }
            }
            out.put(low).put(high).put(blockScales).putShort(d);
        }
    }

    /**
     * Q4_K's and Q5_K's common part: each 32-value sub-block's scale and min fitted ({@link #fitScaleAndMin}), both
     * rounded to 6 bits of the super-block's largest, then every value's quant in 0..nmax. Returns the 16-byte header
     * (d, dmin, packed scales and mins) and leaves the quants in {@code q}.
     */
    private static byte[] scaledMinBlock(float[] row, int start, int nmax, float rmin, int nstep, int[] q) {
        float[] scales = new float[8];
        float[] mins = new float[8];
        float[] weights = new float[32];
        float maxScale = 0f;
        float maxMin = 0f;
        for (int j = 0; j < 8; j++) {
            int at = start + 32 * j;
            float sumX2 = 0f;
            for (int i = 0; i < 32; i++) {
                sumX2 += row[at + i] * row[at + i];
            }
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int i = 0; i < 32; i++) {
                weights[i] = avX + Math.abs(row[at + i]);
            }
            float[] fit = fitScaleAndMin(row, at, weights, nmax, rmin, nstep, q, 32 * j);
            scales[j] = fit[0];
            mins[j] = fit[1];
            maxScale = Math.max(maxScale, scales[j]);
            maxMin = Math.max(maxMin, mins[j]);
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        int[] ls = new int[8];
        int[] lm = new int[8];
        for (int j = 0; j < 8; j++) {
            // NOTE: C stores nearest_int's result in a uint8_t before capping it at 63
            ls[j] = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF);
            lm[j] = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
        }
        short d = DTypeConversions.floatToF16(maxScale / 63f);
        short dmin = DTypeConversions.floatToF16(maxMin / 63f);
        for (int j = 0; j < 8; j++) {
            float step = DTypeConversions.f16ToFloat(d) * ls[j];
            if (step == 0f) {
                continue; // keeps the sub-block's quants from the fit, as ggml does
            }
            float offset = DTypeConversions.f16ToFloat(dmin) * lm[j];
            for (int i = 0; i < 32; i++) {
                q[32 * j + i] = Math.max(0, Math.min(nmax, nearestInt((row[start + 32 * j + i] + offset) / step)));
            }
        }
        ByteBuffer header = ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        header.putShort(d).putShort(dmin);
        byte[] packed = new byte[12];
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                packed[j] = (byte) ls[j];
                packed[j + 4] = (byte) lm[j];
            } else {
                packed[j + 4] = (byte) ((ls[j] & 0xF) | (lm[j] & 0xF) << 4);
                packed[j - 4] |= (byte) ((ls[j] >> 4) << 6);
                packed[j] |= (byte) ((lm[j] >> 4) << 6);
            }
        }
        return header.put(packed).array();
    }

    /** Q4_K's and Q5_K's quants: byte i of each 32-byte run holds value 64p + i (low nibble) and 64p + 32 + i. */
    private static void putNibbles(int[] q, ByteBuffer out) {
        for (int p = 0; p < SUPER_BLOCK / 64; p++) {
            for (int i = 0; i < 32; i++) {
                out.put((byte) ((q[64 * p + i] & 0xF) | (q[64 * p + 32 + i] & 0xF) << 4));
            }
        }
    }

    /**
     * ggml's {@code make_qkx2_quants} for 32 values at {@code row[at..]}: the scale s and min m (returned as
     * {@code {s, -m}}, m <= 0) of {@code x ~ s * q + m}, q in 0..nmax, minimising the weighted squared error over
     * {@code nstep + 1} trial scales around {@code nmax / (max - min)}; the quants go to {@code q[qAt..]}.
     */
    private static float[] fitScaleAndMin(float[] row, int at, float[] weights, int nmax, float rmin, int nstep,
                                          int[] q, int qAt) {
        final float rdelta = 0.1f;
        int n = 32;
        float min = row[at];
        float max = row[at];
        float sumW = weights[0];
        float sumX = sumW * row[at];
        for (int i = 1; i < n; i++) {
            float x = row[at + i];
            if (x < min) {
                min = x;
            }
            if (x > max) {
                max = x;
            }
            sumW += weights[i];
            sumX += weights[i] * x;
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            for (int i = 0; i < n; i++) {
                q[qAt + i] = 0;
            }
            return new float[] {0f, -min};
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0f;
        for (int i = 0; i < n; i++) {
            int l = Math.max(0, Math.min(nmax, nearestInt(iscale * (row[at + i] - min))));
            q[qAt + i] = l;
            float diff = scale * l + min - row[at + i];
            bestError += weights[i] * (diff * diff);
        }
        int[] trial = new int[n];
        for (int step = 0; step <= nstep; step++) {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0f;
            float sumL2 = 0f;
            float sumXL = 0f;
            for (int i = 0; i < n; i++) {
                int l = Math.max(0, Math.min(nmax, nearestInt(iscale * (row[at + i] - min))));
                trial[i] = l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * row[at + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float trialScale = (sumW * sumXL - sumX * sumL) / det;
                float trialMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (trialMin > 0) {
                    trialMin = 0;
                    trialScale = sumXL / sumL2;
                }
                float error = 0f;
                for (int i = 0; i < n; i++) {
                    float diff = trialScale * trial[i] + trialMin - row[at + i];
                    error += weights[i] * (diff * diff);
                }
                if (error < bestError) {
                    System.arraycopy(trial, 0, q, qAt, n);
                    bestError = error;
                    scale = trialScale;
                    min = trialMin;
                }
            }
        }
        return new float[] {scale, -min};
    }

    /**
     * ggml's {@code make_qx_quants} with rmse_type 1 for 16 values at {@code row[at..]}: the scale s of
     * {@code x ~ s * q}, q in -32..31, maximising the x²-weighted fit over 19 trial scales; the quants (plus 32) go to
     * {@code l[lAt..]}. Returns 0 for an all-zero group.
     */
    private static float symmetricScale(float[] row, int at, int[] l, int lAt) {
        final int n = 16;
        final int nmax = 32;
        float max = 0f;
        float amax = 0f;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(row[at + i]);
            if (ax > amax) {
                amax = ax;
                max = row[at + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) {
                l[lAt + i] = 0;
            }
            return 0f;
        }
        float iscale = -nmax / max;
        float sumLX = 0f;
        float sumL2 = 0f;
        for (int i = 0; i < n; i++) {
            float x = row[at + i];
            int q = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * x)));
            l[lAt + i] = q + nmax;
            float w = x * x;
            sumLX += w * x * q;
            sumL2 += w * q * q;
        }
        float scale = sumL2 != 0f ? sumLX / sumL2 : 0f;
        float best = scale * sumLX;
        for (int step = -9; step <= 9; step++) {
            if (step == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * step) / max;
            sumLX = 0f;
            sumL2 = 0f;
            for (int i = 0; i < n; i++) {
                float x = row[at + i];
                int q = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * x)));
                float w = x * x;
                sumLX += w * x * q;
                sumL2 += w * q * q;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
                for (int i = 0; i < n; i++) {
                    l[lAt + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * row[at + i])));
                }
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }

    /**
     * ggml's {@code nearest_int}: rounds to nearest, ties to even, by adding 1.5 * 2^23 and reading the mantissa;
     * exact for |x| < 2^22, which every caller's argument is.
     */
    static int nearestInt(float x) {
        int bits = Float.floatToRawIntBits(x + 12582912f);
        return (bits & 0x007fffff) - 0x00400000;
    }
}
