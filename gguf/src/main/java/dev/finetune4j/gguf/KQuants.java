package dev.finetune4j.gguf;

import dev.finetune4j.core.tensor.DTypeConversions;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.function.IntUnaryOperator;

import static dev.finetune4j.gguf.ScaleSearch.GROUP_MAX_EPS;
import static dev.finetune4j.gguf.ScaleSearch.nearestInt;

/**
 * ggml's quantizers for its super-block ("K") types, as llama.cpp's {@code llama-quantize} runs them: without an
 * importance matrix the reference ones ({@code quantize_row_q4_K_ref}, {@code _q5_K_ref}, {@code _q6_K_ref} in
 * ggml-quants.c), with one ({@code importance}: a weight per column of the row, the mean squared input it meets)
 * {@code quantize_row_q4_K_impl} and its siblings, which fit each block's scales to the error weighted by it. Every
 * step is taken in float32 in ggml's order ({@link ScaleSearch}), so the bytes equal llama.cpp's. Each method appends
 * the blocks of one row (a multiple of 256 values) to {@code out}, little-endian.
 */
final class KQuants {
    static final int SUPER_BLOCK = 256;

    private KQuants() {
    }

    /**
     * {@code block_q3_K}: 32 bytes of high bits, 64 of 2-bit low parts, twelve bytes of sixteen 6-bit scales, then a
     * float16 d; sub-block j (16 values) decodes as {@code d * (scale_j - 32) * (q - 4)}, q in 0..7. Without importance
     * each sub-block's scale is {@code make_q3_quants}' and the 6-bit values are the scales over the largest; with it,
     * the sub-blocks and then the 6-bit values are fitted under the weights ({@code quantize_row_q3_K_impl}).
     *
     * @param importance the row's column weights, or null
     */
    static void q3K(float[] row, float[] importance, ByteBuffer out) {
        int[] l = new int[row.length];
        float[] scales = new float[SUPER_BLOCK / 16];
        for (int start = 0; start < row.length; start += SUPER_BLOCK) {
            byte[] packed = new byte[12];
            short d;
            if (importance == null) {
                float maxScale = 0f;
                float amax = 0f;
                for (int b = 0; b < scales.length; b++) {
                    scales[b] = ScaleSearch.refinedSymmetricScale(row, start + 16 * b, 16, 4, l, start + 16 * b);
                    if (Math.abs(scales[b]) > amax) {
                        amax = Math.abs(scales[b]);
                        maxScale = scales[b];
                    }
                }
                if (maxScale != 0f) {
                    float iscale = -32f / maxScale;
                    for (int b = 0; b < scales.length; b++) {
                        // NOTE: ggml keeps nearest_int's result in an int8_t before clamping it
                        packScale(packed, b, Math.max(-32, Math.min(31, (byte) nearestInt(iscale * scales[b]))) + 32);
                    }
                    d = DTypeConversions.floatToF16(1 / iscale);
                } else {
                    d = DTypeConversions.floatToF16(0f);
                }
            } else {
                float sigma2 = sigma2(row, start);
                float[] weights = new float[SUPER_BLOCK];
                float[] weightSums = new float[scales.length];
                for (int b = 0; b < scales.length; b++) {
                    float sum = 0f;
                    for (int i = 16 * b; i < 16 * b + 16; i++) {
                        weights[i] = importance[start + i] * (float) Math.sqrt(sigma2 + row[start + i] * row[start + i]);
                        sum += weights[i];
                    }
                    weightSums[b] = sum;
                    scales[b] = ScaleSearch.symmetricScale(row, start + 16 * b, 16, 4, weights, 16 * b, l,
                            start + 16 * b);
                }
                int[] ls = new int[scales.length];
                d = DTypeConversions.floatToF16(ScaleSearch.symmetricScale(scales, 0, scales.length, 32, weightSums, 0,
                        ls, 0));
                for (int b = 0; b < scales.length; b++) {
                    packScale(packed, b, ls[b]);
                }
            }
            requantize(row, start, DTypeConversions.f16ToFloat(d), b -> storedScale(packed, b) - 32, 4, l);
            byte[] high = new byte[32];
            byte[] low = new byte[64];
            for (int v = 0; v < SUPER_BLOCK; v++) {
                high[v % 32] |= (byte) ((l[start + v] >> 2 & 1) << (v / 32));
                low[v / 128 * 32 + v % 32] |= (byte) ((l[start + v] & 3) << 2 * (v % 128 / 32));
            }
            out.put(high).put(low).put(packed).putShort(d);
        }
    }

    /**
     * The quants of a super-block's 16-value sub-blocks from their stored scales, as the decoder will read them: q in
     * -half..half-1 at step {@code d * scale(b)}, stored plus half. A sub-block of step 0 keeps the quants of the scale
     * search, as ggml does. {@code l} runs along the row.
     */
    private static void requantize(float[] row, int start, float d, IntUnaryOperator scale, int half, int[] l) {
        for (int b = 0; b < SUPER_BLOCK / 16; b++) {
            float step = d * scale.applyAsInt(b);
            if (step == 0f) {
                continue;
            }
            for (int i = 0; i < 16; i++) {
                int at = start + 16 * b + i;
                l[at] = Math.max(-half, Math.min(half - 1, nearestInt(row[at] / step))) + half;
            }
        }
    }

    /** Q3_K's 6-bit scale b: its low nibble in byte b (b < 8) or b - 8's high one, its top 2 bits in byte 8 + b % 4. */
    private static void packScale(byte[] packed, int b, int value) {
        if (b < 8) {
            packed[b] = (byte) (value & 0xF);
        } else {
            packed[b - 8] |= (byte) ((value & 0xF) << 4);
        }
        packed[8 + b % 4] |= (byte) ((value >> 4) << 2 * (b / 4));
    }

    /** The 6-bit scale b that {@link #packScale} stored. */
    static int storedScale(byte[] packed, int b) {
        int nibble = b < 8 ? packed[b] & 0xF : (packed[b - 8] & 0xFF) >> 4;
        return nibble | ((packed[8 + b % 4] & 0xFF) >> 2 * (b / 4) & 3) << 4;
    }

    /**
     * {@code block_q4_K}: float16 d and dmin, twelve bytes of eight 6-bit scales and mins, then 128 bytes of nibbles;
     * sub-block j (32 values) decodes as {@code d * scale_j * q - dmin * min_j}.
     *
     * @param importance the row's column weights, or null
     */
    static void q4K(float[] row, float[] importance, ByteBuffer out) {
        int[] q = new int[row.length];
        SubBlockFits fits = fitSubBlocks(row, importance, 15, q);
        for (int start = 0; start < row.length; start += SUPER_BLOCK) {
            putScaledMinHeader(row, start, fits, 15, q, out);
            putNibbles(q, start, out);
        }
    }

    /**
     * {@code block_q5_K}: Q4_K's header, then 32 bytes of fifth bits and 128 of nibbles; quants run 0..31.
     *
     * @param importance the row's column weights, or null
     */
    static void q5K(float[] row, float[] importance, ByteBuffer out) {
        int[] q = new int[row.length];
        SubBlockFits fits = fitSubBlocks(row, importance, 31, q);
        for (int start = 0; start < row.length; start += SUPER_BLOCK) {
            putScaledMinHeader(row, start, fits, 31, q, out);
            // fifth bits: byte j holds, for each 64-value half pair p, bit 2p of value 64p + j and bit 2p+1 of 64p+32+j
            byte[] high = new byte[32];
            for (int p = 0; p < SUPER_BLOCK / 64; p++) {
                int at = start + 64 * p;
                for (int j = 0; j < 32; j++) {
                    high[j] |= (byte) (((q[at + j] >> 4) << (2 * p)) | ((q[at + 32 + j] >> 4) << (2 * p + 1)));
                }
            }
            out.put(high);
            putNibbles(q, start, out);
        }
    }

    /**
     * {@code block_q6_K}: 128 bytes of low nibbles, 64 of high bit pairs, sixteen int8 scales, then a float16 d;
     * sub-block j (16 values) decodes as {@code d * scale_j * (q - 32)}. The importance weights, when given, replace
     * x² as each sub-block's fitting weights.
     *
     * @param importance the row's column weights, or null
     */
    static void q6K(float[] row, float[] importance, ByteBuffer out) {
        int[] l = new int[row.length];
        float[] rowScales = new float[row.length / 16];
        ScaleSearch.symmetricScales(row, 16, 32, importance, l, rowScales);
        byte[] blockScales = new byte[SUPER_BLOCK / 16];
        byte[] low = new byte[128];
        byte[] high = new byte[64];
        for (int start = 0; start < row.length; start += SUPER_BLOCK) {
            float maxScale = 0f;
            float maxAbsScale = 0f;
            for (int b = 0; b < blockScales.length; b++) {
                float scale = rowScales[start / 16 + b];
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
            for (int b = 0; b < blockScales.length; b++) {
                blockScales[b] = (byte) Math.min(127, nearestInt(iscale * rowScales[start / 16 + b]));
            }
            requantize(row, start, DTypeConversions.f16ToFloat(d), b -> blockScales[b], 32, l);
            for (int half = 0; half < 2; half++) {
                int j = start + 128 * half;
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

    /** The 32-value sub-blocks' fitted scales and mins of a row, and (under importance) their weight sums. */
    private record SubBlockFits(float[] scales, float[] mins, float[] weightSums) {
    }

    /**
     * Q4_K's and Q5_K's fit: each 32-value sub-block's scale and min ({@link ScaleSearch#fitScalesAndMins}), with
     * quants in 0..nmax left in {@code q}. Without importance the fit weighs each value by
     * {@code sqrt(mean x²) + |x|}; with it, by {@code importance * sqrt(2 mean x² + x²)} over its super-block.
     */
    private static SubBlockFits fitSubBlocks(float[] row, float[] importance, int nmax, int[] q) {
        int blocks = row.length / 32;
        float[] weights = new float[row.length];
        float[] weightSums = importance != null ? new float[blocks] : null;
        float sigma2 = 0f;
        for (int j = 0; j < blocks; j++) {
            int at = 32 * j;
            if (importance != null) {
                if (at % SUPER_BLOCK == 0) {
                    sigma2 = sigma2(row, at);
                }
                float sum = 0f;
                for (int i = at; i < at + 32; i++) {
                    weights[i] = importance[i] * (float) Math.sqrt(sigma2 + row[i] * row[i]);
                    sum += weights[i];
                }
                weightSums[j] = sum;
            } else {
                float blockX2 = 0f;
                for (int i = at; i < at + 32; i++) {
                    blockX2 += row[i] * row[i];
                }
                float avX = (float) Math.sqrt(blockX2 / 32);
                for (int i = at; i < at + 32; i++) {
                    weights[i] = avX + Math.abs(row[i]);
                }
            }
        }
        float[] scales = new float[blocks];
        float[] mins = new float[blocks];
        if (importance != null) {
            ScaleSearch.fitScalesAndMins(row, 32, weights, nmax, -0.9f, 0.05f, 36, q, scales, mins);
        } else {
            ScaleSearch.fitScalesAndMins(row, 32, weights, nmax, nmax == 15 ? -1f : -0.5f, 0.1f, nmax == 15 ? 20 : 15,
                    q, scales, mins);
        }
        return new SubBlockFits(scales, mins, weightSums);
    }

    /**
     * Q4_K's and Q5_K's header for the super-block at {@code start}: its sub-blocks' fitted scales and mins rounded
     * to 6 bits of the super-block's scale, written as d, dmin and the packed scales and mins; then every value's
     * quant in 0..nmax recomputed in {@code q} from them. Without importance the 6-bit values are the scales over the
     * largest; with it, they are fitted too ({@link ScaleSearch#quantizedScale}).
     */
    private static void putScaledMinHeader(float[] row, int start, SubBlockFits fits, int nmax, int[] q,
                                           ByteBuffer out) {
        int first = start / 32;
        float[] scales = Arrays.copyOfRange(fits.scales(), first, first + 8);
        float[] mins = Arrays.copyOfRange(fits.mins(), first, first + 8);
        int[] ls = new int[8];
        int[] lm = new int[8];
        short d;
        short dmin;
        if (fits.weightSums() != null) {
            float[] weightSums = Arrays.copyOfRange(fits.weightSums(), first, first + 8);
            d = DTypeConversions.floatToF16(ScaleSearch.quantizedScale(scales, 63, weightSums, ls));
            dmin = DTypeConversions.floatToF16(ScaleSearch.quantizedScale(mins, 63, weightSums, lm));
            if (nmax == 31) { // NOTE: ggml caps Q5_K's fitted 6-bit values at 63, and not Q4_K's
                for (int j = 0; j < 8; j++) {
                    ls[j] = Math.min(63, ls[j]);
                    lm[j] = Math.min(63, lm[j]);
                }
            }
        } else {
            float maxScale = 0f;
            float maxMin = 0f;
            for (int j = 0; j < 8; j++) {
                maxScale = Math.max(maxScale, scales[j]);
                maxMin = Math.max(maxMin, mins[j]);
            }
            float invScale = maxScale > 0 ? 63f / maxScale : 0f;
            float invMin = maxMin > 0 ? 63f / maxMin : 0f;
            for (int j = 0; j < 8; j++) {
                // NOTE: C stores nearest_int's result in a uint8_t before capping it at 63
                ls[j] = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF);
                lm[j] = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
            }
            d = DTypeConversions.floatToF16(maxScale / 63f);
            dmin = DTypeConversions.floatToF16(maxMin / 63f);
        }
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
        // the quants from the stored (6-bit, float16) scales, as the decoder will read them
        for (int j = 0; j < 8; j++) {
            int sc = j < 4 ? packed[j] & 63 : (packed[j + 4] & 0xF) | ((packed[j - 4] & 0xFF) >> 6) << 4;
            int mn = j < 4 ? packed[j + 4] & 63 : ((packed[j + 4] & 0xFF) >> 4) | ((packed[j] & 0xFF) >> 6) << 4;
            float step = DTypeConversions.f16ToFloat(d) * sc;
            if (step == 0f) {
                continue; // keeps the sub-block's quants from the fit, as ggml does
            }
            float offset = DTypeConversions.f16ToFloat(dmin) * mn;
            for (int i = 0; i < 32; i++) {
                int at = start + 32 * j + i;
                q[at] = Math.max(0, Math.min(nmax, nearestInt((row[at] + offset) / step)));
            }
        }
        out.putShort(d).putShort(dmin).put(packed);
    }

    /** Twice the mean square of a super-block, the spread its importance-matrix weights add to each x². */
    private static float sigma2(float[] row, int start) {
        float sumX2 = 0f;
        for (int i = 0; i < SUPER_BLOCK; i++) {
            sumX2 += row[start + i] * row[start + i];
        }
        return 2 * sumX2 / SUPER_BLOCK;
    }

    /** Q4_K's and Q5_K's quants: byte i of each 32-byte run holds value 64p + i (low nibble) and 64p + 32 + i. */
    private static void putNibbles(int[] q, int start, ByteBuffer out) {
        for (int p = 0; p < SUPER_BLOCK / 64; p++) {
            int at = start + 64 * p;
            for (int i = 0; i < 32; i++) {
                out.put((byte) ((q[at + i] & 0xF) | (q[at + 32 + i] & 0xF) << 4));
            }
        }
    }
}
