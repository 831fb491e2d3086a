package dev.finetune4j.gguf;

import dev.finetune4j.core.tensor.DTypeConversions;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * ggml's quantizers for its 32-value block types, step for step in float32, so that the bytes equal llama.cpp's and
 * gguf-py's: the reference ones ({@code quantize_row_q8_0_ref}, {@code _q4_0_ref}, {@code _q5_0_ref},
 * {@code _q5_1_ref} in ggml-quants.c) and, under an importance matrix (a weight per column of the row),
 * {@code quantize_row_q4_0_impl}, {@code _q5_0_impl} and {@code _q5_1_impl}, which fit each block's scale to the error
 * weighted by it (Q8_0 has no such variant). Each method
 * appends the blocks of one row (a multiple of 32 values) to {@code out}, little-endian.
 */
final class LegacyQuants {
    static final int BLOCK = 32;

    private LegacyQuants() {
    }

    /**
     * {@code block_q8_0}: a float16 scale d, then 32 int8 q; value = d * q. {@code d = amax / 127},
     * {@code q = roundf(x * (1 / d))}, halves rounded away from zero.
     */
    static void q8_0(float[] row, ByteBuffer out) {
        for (int start = 0; start < row.length; start += BLOCK) {
            float amax = 0f;
            for (int j = 0; j < BLOCK; j++) {
                amax = Math.max(amax, Math.abs(row[start + j]));
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            out.putShort(DTypeConversions.floatToF16(d));
            for (int j = 0; j < BLOCK; j++) {
                out.put((byte) roundHalfAwayFromZero(row[start + j] * id));
            }
        }
    }

    /**
     * {@code block_q4_0}: a float16 scale d, then 16 bytes of nibbles (value j low, value j + 16 high); value =
     * d * (q - 8). d is the block's value of largest magnitude divided by -8; under an importance matrix the scale is
     * fitted to the weighted error instead ({@code quantize_row_q4_0_impl}).
     */
    static void q4_0(float[] row, float[] importance, ByteBuffer out) {
        float[] weights = importance == null ? null : rowWeights(row, importance);
        int[] q = new int[BLOCK];
        for (int start = 0; start < row.length; start += BLOCK) {
            float d;
            if (weights != null) {
                d = ScaleSearch.symmetricScale(row, start, BLOCK, 8, weights, start, q, 0);
            } else {
                d = ScaleSearch.largestMagnitude(row, start, BLOCK) / -8f;
                float id = d != 0f ? 1f / d : 0f;
                for (int j = 0; j < BLOCK; j++) {
                    q[j] = Math.min(15, (int) (row[start + j] * id + 8.5f));
                }
            }
            out.putShort(DTypeConversions.floatToF16(d));
            for (int j = 0; j < BLOCK / 2; j++) {
                out.put((byte) ((q[j] & 0xF) | (q[j + BLOCK / 2] & 0xF) << 4));
            }
        }
    }

    /**
     * {@code block_q5_0}: a float16 scale d, the fifth bits of the 32 quants (a little-endian uint32), then their low
     * nibbles (value j in the low nibble of byte j, value j + 16 in its high one); value = d * (q - 16). d is the
     * block's value of largest magnitude divided by -16, so that value maps to q = 0.
     */
    static void q5_0(float[] row, float[] importance, ByteBuffer out) {
        if (importance != null) {
            float[] weights = rowWeights(row, importance);
            int[] q = new int[BLOCK];
            for (int start = 0; start < row.length; start += BLOCK) {
                float d = ScaleSearch.symmetricScale(row, start, BLOCK, 16, weights, start, q, 0);
                out.putShort(DTypeConversions.floatToF16(d));
                putFiveBitQuants(q, out);
            }
            return;
        }
        for (int start = 0; start < row.length; start += BLOCK) {
            float d = ScaleSearch.largestMagnitude(row, start, BLOCK) / -16f;
            float id = d != 0f ? 1f / d : 0f;
            int[] q = new int[BLOCK];
            for (int j = 0; j < BLOCK; j++) {
                // NOTE: C converts x * id + 16.5 to int8_t by truncation, then caps the 32 of x == max at 31
                q[j] = Math.min(31, (int) (row[start + j] * id + 16.5f));
            }
            out.putShort(DTypeConversions.floatToF16(d));
            putFiveBitQuants(q, out);
        }
    }

    /**
     * {@code block_q5_1}: float16 scale d and minimum m, the fifth bits (uint32), then the low nibbles as in Q5_0;
     * value = d * q + m, with d = (max - min) / 31 and q = (uint8) ((x - min) / d + 0.5).
     */
    static void q5_1(float[] row, float[] importance, ByteBuffer out) {
        if (importance != null) {
            float[] weights = rowWeights(row, importance);
            int[] q = new int[BLOCK];
            for (int start = 0; start < row.length; start += BLOCK) {
                float[] fit = ScaleSearch.fitScaleAndMin(row, start, BLOCK, Arrays.copyOfRange(weights, start,
                        start + BLOCK), 31, -0.9f, 0.05f, 36, q, 0);
                out.putShort(DTypeConversions.floatToF16(fit[0]));
                out.putShort(DTypeConversions.floatToF16(-fit[1]));
                putFiveBitQuants(q, out);
            }
            return;
        }
        for (int start = 0; start < row.length; start += BLOCK) {
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (int j = 0; j < BLOCK; j++) {
                float v = row[start + j];
                if (v < min) {
                    min = v;
                }
                if (v > max) {
                    max = v;
                }
            }
            float d = (max - min) / 31f;
            float id = d != 0f ? 1f / d : 0f;
            int[] q = new int[BLOCK];
            for (int j = 0; j < BLOCK; j++) {
                q[j] = (int) ((row[start + j] - min) * id + 0.5f) & 0xFF;
            }
            out.putShort(DTypeConversions.floatToF16(d));
            out.putShort(DTypeConversions.floatToF16(min));
            putFiveBitQuants(q, out);
        }
    }

    /** Each value's fitting weight under an importance matrix: {@code importance * sqrt(mean x² of the row + x²)}. */
    private static float[] rowWeights(float[] row, float[] importance) {
        float sumX2 = 0f;
        for (float x : row) {
            sumX2 += x * x;
        }
        float sigma2 = sumX2 / row.length;
        float[] weights = new float[row.length];
        for (int i = 0; i < row.length; i++) {
            weights[i] = importance[i] * (float) Math.sqrt(sigma2 + row[i] * row[i]);
        }
        return weights;
    }

    /** Q5_0's and Q5_1's quant layout: the fifth bits as one little-endian uint32, then 16 bytes of nibble pairs. */
    private static void putFiveBitQuants(int[] q, ByteBuffer out) {
        int high = 0;
        for (int j = 0; j < BLOCK; j++) {
            high |= ((q[j] >> 4) & 1) << j;
        }
        out.putInt(high);
        for (int j = 0; j < BLOCK / 2; j++) {
            out.put((byte) ((q[j] & 0xF) | (q[j + BLOCK / 2] & 0xF) << 4));
        }
    }

    /**
     * C's {@code roundf}: halves away from zero (Java's Math.round rounds them up). NOTE: the sum is taken in double,
     * where 0.49999997f + 0.5 stays below 1 (in float it rounds up to 1).
     */
    private static int roundHalfAwayFromZero(float x) {
        return (int) Math.copySign(Math.floor(Math.abs((double) x) + 0.5), x);
    }
}
