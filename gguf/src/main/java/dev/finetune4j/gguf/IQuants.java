package dev.finetune4j.gguf;

import dev.finetune4j.core.tensor.DTypeConversions;

import java.nio.ByteBuffer;

import static dev.finetune4j.gguf.ScaleSearch.GROUP_MAX_EPS;
import static dev.finetune4j.gguf.ScaleSearch.nearestInt;

/**
 * ggml's 4-bit non-linear quantizers ({@code quantize_iq4_nl} and {@code quantize_iq4_xs} in ggml-quants.c, the ones
 * {@code llama-quantize} calls): each value is an index into {@link #VALUES}, a table of 16 levels denser near zero,
 * times a block scale. Each 32-value block's scale is searched over 15 trial steps, weighting each value's squared
 * error by x² or, under an importance matrix, by {@code importance * sqrt(2 mean x² + x²)}. Every step is float32 in
 * ggml's order, so the bytes equal llama.cpp's. Each method appends the blocks of one row to {@code out},
 * little-endian.
 */
final class IQuants {
    /** ggml's {@code kvalues_iq4nl}: the 16 levels an index decodes to, before the block's scale. */
    static final int[] VALUES = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    private static final int BLOCK = 32;
    /** The trial steps on each side of a block's first scale ({@code ntry} in ggml). */
    private static final int TRIES = 7;

    private IQuants() {
    }

    /**
     * {@code block_iq4_nl}: a float16 scale d, then 16 bytes of indices (value j in the low nibble of byte j, value
     * j + 16 in the high one); value = d * VALUES[index].
     *
     * @param importance the row's column weights, or null
     */
    static void iq4Nl(float[] row, float[] importance, ByteBuffer out) {
        float[] scale = new float[1];
        int[] indices = new int[BLOCK];
        for (int start = 0; start < row.length; start += BLOCK) {
            searchBlockScales(row, start, BLOCK, importance, scale);
            float d = scale[0];
            out.putShort(DTypeConversions.floatToF16(d));
            float id = d != 0f ? 1f / d : 0f;
            for (int j = 0; j < BLOCK; j++) {
                indices[j] = nearestLevel(id * row[start + j]);
            }
            putIndices(indices, 0, out);
        }
    }

    /**
     * {@code block_iq4_xs}: super-blocks of 256 values as a float16 d, the top 2 bits of eight 6-bit block scales (a
     * little-endian uint16, block b at bits 2b), their low nibbles (4 bytes, block b in byte b / 2, even blocks low),
     * then 128 bytes of indices laid out per block as in IQ4_NL; block b decodes as
     * {@code d * (scale_b - 32) * VALUES[index]}. The block scales are rounded to 6 bits of {@code d = -max / 32}, max
     * the block scale of largest magnitude, and the indices chosen again for the rounded scales.
     *
     * @param importance the row's column weights, or null
     */
    static void iq4Xs(float[] row, float[] importance, ByteBuffer out) {
        int superBlock = KQuants.SUPER_BLOCK;
        float[] scales = new float[superBlock / BLOCK];
        int[] indices = new int[superBlock];
        for (int start = 0; start < row.length; start += superBlock) {
            float maxScale = searchBlockScales(row, start, superBlock, importance, scales);
            // NOTE: an all-zero super-block stores d = -0 (float16 0x8000), as ggml computes it
            float d = -maxScale / 32;
            float id = d != 0f ? 1f / d : 0f;
            int high = 0;
            byte[] low = new byte[scales.length / 2];
            for (int b = 0; b < scales.length; b++) {
                int l = Math.max(-32, Math.min(31, nearestInt(id * scales[b])));
                float dl = d * l;
                float idl = dl != 0f ? 1f / dl : 0f;
                for (int j = 0; j < BLOCK; j++) {
                    indices[BLOCK * b + j] = nearestLevel(idl * row[start + BLOCK * b + j]);
                }
                l += 32;
                low[b / 2] |= (byte) ((l & 0xF) << 4 * (b % 2));
                high |= (l >> 4) << 2 * b;
            }
            out.putShort(DTypeConversions.floatToF16(d)).putShort((short) high).put(low);
            for (int b = 0; b < scales.length; b++) {
                putIndices(indices, BLOCK * b, out);
            }
        }
    }

    /**
     * Fits the scale of each 32-value block of {@code row[start..start + n)} into {@code scales} and returns the one of
     * largest magnitude (the first of equal ones). A block's first scale maps its value of largest magnitude to
     * -127; then 15 trial scales {@code (t - 127) / max}, t in -7..7, each pick the nearest levels, and the weighted
     * least-squares scale of the best fit is kept. A block below {@link ScaleSearch#GROUP_MAX_EPS} gets 0.
     */
    private static float searchBlockScales(float[] row, int start, int n, float[] importance, float[] scales) {
        float sumX2 = 0f;
        for (int j = 0; j < n; j++) {
            sumX2 += row[start + j] * row[start + j];
        }
        float sigma2 = sumX2 * (2f / n);
        float[] weights = new float[BLOCK];
        float maxScale = 0f;
        float maxAbsScale = 0f;
        for (int b = 0; b < n / BLOCK; b++) {
            int at = start + BLOCK * b;
            for (int j = 0; j < BLOCK; j++) {
                float x = row[at + j];
                weights[j] = importance != null ? importance[at + j] * (float) Math.sqrt(sigma2 + x * x) : x * x;
            }
            float max = ScaleSearch.largestMagnitude(row, at, BLOCK);
            if (Math.abs(max) < GROUP_MAX_EPS) {
                scales[b] = 0f;
                continue;
            }
            float[] sums = fit(row, at, weights, 1f / (-max / VALUES[0]));
            float d = sums[1] > 0 ? sums[0] / sums[1] : 0f;
            float best = d * sums[0];
            for (int t = -TRIES; t <= TRIES; t++) {
                sums = fit(row, at, weights, (t + VALUES[0]) / max);
                if (sums[1] > 0 && sums[0] * sums[0] > best * sums[1]) {
                    d = sums[0] / sums[1];
                    best = d * sums[0];
                }
            }
            scales[b] = d;
            if (Math.abs(d) > maxAbsScale) {
                maxAbsScale = Math.abs(d);
                maxScale = d;
            }
        }
        return maxScale;
    }

    /** The weighted sums {@code {sum w q x, sum w q²}} of a block's values at their nearest levels q under {@code id}. */
    private static float[] fit(float[] row, int at, float[] weights, float id) {
        float sumQX = 0f;
        float sumQ2 = 0f;
        for (int j = 0; j < BLOCK; j++) {
            float x = row[at + j];
            float q = VALUES[nearestLevel(id * x)];
            float w = weights[j];
            sumQX += w * q * x;
            sumQ2 += w * q * q;
        }
        return new float[] {sumQX, sumQ2};
    }

    /**
     * The index of the level nearest {@code x} (ggml's {@code best_index_int8}): a bisection, a tie going to the
     * upper level.
     */
    static int nearestLevel(float x) {
        if (x <= VALUES[0]) {
            return 0;
        }
        int last = VALUES.length - 1;
        if (x >= VALUES[last]) {
            return last;
        }
        int lo = 0;
        int hi = last;
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            if (x < VALUES[mid]) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        return x - VALUES[hi - 1] < VALUES[hi] - x ? hi - 1 : hi;
    }

    /** One 32-value block's indices from {@code indices[at..]}: byte j holds value j (low nibble) and j + 16. */
    private static void putIndices(int[] indices, int at, ByteBuffer out) {
        for (int j = 0; j < BLOCK / 2; j++) {
            out.put((byte) (indices[at + j] | indices[at + j + BLOCK / 2] << 4));
        }
    }
}
