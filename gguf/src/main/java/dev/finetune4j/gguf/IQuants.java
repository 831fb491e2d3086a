package dev.finetune4j.gguf;

import dev.finetune4j.core.tensor.DTypeConversions;

import java.nio.ByteBuffer;
import java.util.Arrays;

import static dev.finetune4j.gguf.ScaleSearch.GROUP_MAX_EPS;
import static dev.finetune4j.gguf.ScaleSearch.nearestInt;

/**
 * ggml's I-quant quantizers that llama-quantize runs with or without an importance matrix: IQ3_S's grid search
 * ({@code quantize_iq3_s}) and the 4-bit non-linear ones ({@code quantize_iq4_nl}, {@code quantize_iq4_xs} in
 * ggml-quants.c). In the latter each value is an index into {@link #VALUES}, a table of 16 levels denser near zero,
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
     * {@code block_iq3_s}: super-blocks of 256 values as a float16 d, 64 bytes of grid indices' low 8 bits (one per
     * group of 4 values), 8 bytes of their ninth bits (block b's in byte b, group g at bit g), 32 bytes of signs (bit i
     * of byte k: value 8k + i is negative) and four bytes of 4-bit block scales (block 2p low, 2p + 1 high); a value
     * decodes as {@code d * (1 + 2 * scale_b) * magnitude * sign}, its magnitude from its group's grid point
     * ({@link Iq3Grid}). Each block's magnitudes are fitted over 19 trial scales, a group off the grid taking the
     * candidate of least weighted error; the block scales are then rounded to 4 bits of {@code max / 31}, whose
     * float16 d is stored 1.033 times larger, as ggml stores it.
     *
     * @param importance the row's column weights, or null
     */
    static void iq3S(float[] row, float[] importance, ByteBuffer out) {
        int superBlock = KQuants.SUPER_BLOCK;
        float[] weights = new float[BLOCK];
        float[] rootWeights = new float[BLOCK];
        float[] magnitudes = new float[BLOCK];
        byte[] blockSigns = new byte[BLOCK / 8];
        int[] levels = new int[BLOCK];
        int[] trial = new int[BLOCK];
        boolean[] onGrid = new boolean[BLOCK / 4];
        boolean[] trialOnGrid = new boolean[BLOCK / 4];
        for (int start = 0; start < row.length; start += superBlock) {
            byte[] indexLow = new byte[superBlock / 4];
            byte[] indexHigh = new byte[superBlock / BLOCK];
            byte[] signs = new byte[superBlock / 8];
            float[] scales = new float[superBlock / BLOCK];
            float sumX2 = 0f;
            for (int j = 0; j < superBlock; j++) {
                sumX2 += row[start + j] * row[start + j];
            }
            float sigma2 = 2 * sumX2 / superBlock;
            float maxScale = 0f;
            // NOTE: ggml moves on in the low index bits and the signs only past a block that is not all zero: the
            // blocks after an all-zero one are written one place early (their ninth bits stay in place), as here
            int written = 0;
            for (int b = 0; b < scales.length; b++) {
                int at = start + BLOCK * b;
                for (int j = 0; j < BLOCK; j++) {
                    float x = row[at + j];
                    weights[j] = importance != null ? importance[at + j] * (float) Math.sqrt(sigma2 + x * x) : x * x;
                    rootWeights[j] = (float) Math.sqrt(weights[j]);
                }
                Arrays.fill(blockSigns, (byte) 0);
                for (int j = 0; j < BLOCK; j++) {
                    float x = row[at + j];
                    magnitudes[j] = x >= 0 ? x : -x;
                    if (!(x >= 0)) {
                        blockSigns[j / 8] |= (byte) (1 << j % 8);
                    }
                }
                float max = magnitudes[0];
                for (int j = 1; j < BLOCK; j++) {
                    max = max > magnitudes[j] ? max : magnitudes[j];
                }
                if (max == 0f) {
                    scales[b] = 0f;
                    continue;
                }
                Arrays.fill(levels, 0);
                Arrays.fill(onGrid, false);
                float best = 0f;
                float scale = max / 15;
                for (int step = -9; step <= 9; step++) {
                    float id = (15 + step * 0.2f) / max;
                    float trialScale = 1 / id;
                    for (int g = 0; g < onGrid.length; g++) {
                        int code = groupCode(magnitudes, 4 * g, id, trial);
                        trialOnGrid[g] = Iq3Grid.indexOf(code) >= 0;
                        if (!trialOnGrid[g]) {
                            nearestOnGrid(code, magnitudes, rootWeights, 4 * g, trialScale, trial);
                        }
                    }
                    float[] sums = gridFit(magnitudes, weights, trial);
                    if (sums[1] > 0 && sums[0] * sums[0] > best * sums[1]) {
                        scale = sums[0] / sums[1];
                        best = scale * sums[0];
                        System.arraycopy(trial, 0, levels, 0, BLOCK);
                        System.arraycopy(trialOnGrid, 0, onGrid, 0, onGrid.length);
                    }
                }
                boolean allOnGrid = true;
                for (boolean on : onGrid) {
                    allOnGrid &= on;
                }
                if (!allOnGrid && scale > 0) {
                    float id = 1 / scale;
                    for (int g = 0; g < onGrid.length; g++) {
                        int code = groupCode(magnitudes, 4 * g, id, levels);
                        if (Iq3Grid.indexOf(code) < 0) {
                            nearestOnGrid(code, magnitudes, rootWeights, 4 * g, scale, levels);
                        }
                    }
                    float[] sums = gridFit(magnitudes, weights, levels);
                    if (sums[1] > 0) {
                        scale = sums[0] / sums[1];
                    }
                }
                if (scale < 0) {
                    scale = -scale;
                    for (int k = 0; k < blockSigns.length; k++) {
                        blockSigns[k] = (byte) ~blockSigns[k];
                    }
                }
                for (int g = 0; g < onGrid.length; g++) {
                    int code = 0;
                    for (int i = 0; i < 4; i++) {
                        code |= levels[4 * g + i] << 3 * i;
                    }
                    int index = Iq3Grid.indexOf(code);
                    indexLow[onGrid.length * written + g] = (byte) index;
                    indexHigh[b] |= (byte) ((index >> 8) << g);
                }
                System.arraycopy(blockSigns, 0, signs, blockSigns.length * written, blockSigns.length);
                written++;
                scales[b] = scale;
                maxScale = maxScale > scale ? maxScale : scale;
            }
            short d = DTypeConversions.floatToF16(0f);
            byte[] packedScales = new byte[scales.length / 2];
            if (maxScale != 0f) {
                float step = maxScale / 31;
                d = DTypeConversions.floatToF16(step * 1.033f);
                float id = 1 / step;
                for (int p = 0; p < packedScales.length; p++) {
                    int l1 = Math.max(0, Math.min(15, nearestInt(0.5f * (id * scales[2 * p] - 1))));
                    int l2 = Math.max(0, Math.min(15, nearestInt(0.5f * (id * scales[2 * p + 1] - 1))));
                    packedScales[p] = (byte) (l1 | l2 << 4);
                }
            }
            out.putShort(d).put(indexLow).put(indexHigh).put(signs).put(packedScales);
        }
    }

    /**
     * The levels (0..7, magnitude 2l + 1) nearest {@code id} times the 4 magnitudes at {@code at}, into
     * {@code levels[at..]}; returns their code (level i at bits 3i).
     */
    private static int groupCode(float[] magnitudes, int at, float id, int[] levels) {
        int code = 0;
        for (int i = 0; i < 4; i++) {
            int l = Math.max(0, Math.min(7, nearestInt(0.5f * (id * magnitudes[at + i] - 1))));
            levels[at + i] = l;
            code |= l << 3 * i;
        }
        return code;
    }

    /**
     * Replaces the levels at {@code at} (off the grid, {@code code}) with those of the candidate grid point of least
     * error at step {@code scale}, weighted by {@code rootWeights}; the first of equal ones.
     */
    private static void nearestOnGrid(int code, float[] magnitudes, float[] rootWeights, int at, float scale,
                                      int[] levels) {
        float bestError = Float.MAX_VALUE;
        int best = -1;
        for (int candidate : Iq3Grid.neighbours(code)) {
            float error = 0f;
            for (int i = 0; i < 4; i++) {
                float diff = scale * (2 * Iq3Grid.level(candidate, i) + 1) - magnitudes[at + i];
                error += rootWeights[at + i] * diff * diff;
            }
            if (error < bestError) {
                bestError = error;
                best = candidate;
            }
        }
        for (int i = 0; i < 4; i++) {
            levels[at + i] = Iq3Grid.level(best, i);
        }
    }

    /** The weighted sums {@code {sum w |x| q, sum w q²}} of a block's magnitudes at {@code q = 2 level + 1}. */
    private static float[] gridFit(float[] magnitudes, float[] weights, int[] levels) {
        float sumQX = 0f;
        float sumQ2 = 0f;
        for (int j = 0; j < BLOCK; j++) {
            float w = weights[j];
            float q = 2 * levels[j] + 1;
            sumQX += w * magnitudes[j] * q;
            sumQ2 += w * q * q;
        }
        return new float[] {sumQX, sumQ2};
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

    /** The weighted sums {@code {sum w q x, sum w q²}} of a block's values at their levels q nearest {@code id x}. */
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
