package dev.finetune4j.gguf;

import java.util.Arrays;

/**
 * ggml's searches for a block's scale (and min), which its quantizers share (ggml-quants.c: {@code nearest_int},
 * {@code make_qkx2_quants}/{@code make_qkx3_quants}, {@code make_qx_quants}, {@code make_qp_quants}). Every step is
 * float32 in ggml's order: the sums are sequential, so the result, and the bytes written from it, equal ggml's.
 */
final class ScaleSearch {
    /** ggml's {@code GROUP_MAX_EPS}: a group whose largest magnitude is below it is all zeros. */
    static final float GROUP_MAX_EPS = 1e-15f;
    /**
     * Whether the incubating Vector API is in the boot layer: the row searches then run {@link LaneScaleSearch} (a
     * sub-block per lane, the same bits, several times faster); without it, sub-block by sub-block here.
     */
    private static final boolean LANES = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private ScaleSearch() {
    }

    /**
     * ggml's {@code nearest_int}: rounds to nearest, ties to even, by adding 1.5 * 2^23 and reading the mantissa;
     * exact for |x| < 2^22, which every caller's argument is.
     */
    static int nearestInt(float x) {
        int bits = Float.floatToRawIntBits(x + 12582912f);
        return (bits & 0x007fffff) - 0x00400000;
    }

    /** The value of {@code row[at..at + n)} of largest magnitude, the first of equal ones; 0 for none. */
    static float largestMagnitude(float[] row, int at, int n) {
        float max = 0f;
        float amax = 0f;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(row[at + i]);
            if (ax > amax) {
                amax = ax;
                max = row[at + i];
            }
        }
        return max;
    }

    /**
     * {@link #fitScaleAndMin} for every {@code n}-value sub-block b of {@code row} (whose length is a multiple of n):
     * its scale to {@code scales[b]}, its min (as returned there, negated) to {@code mins[b]}, its quants to
     * {@code q[n * b..]}; {@code weights} run along the row.
     */
    static void fitScalesAndMins(float[] row, int n, float[] weights, int nmax, float rmin, float rdelta, int nstep,
                                 int[] q, float[] scales, float[] mins) {
        if (LANES) {
            LaneScaleSearch.fitScalesAndMins(row, n, weights, nmax, rmin, rdelta, nstep, q, scales, mins);
        } else {
            fitEachScaleAndMin(row, n, weights, nmax, rmin, rdelta, nstep, q, scales, mins);
        }
    }

    /** {@link #fitScalesAndMins} without the Vector API: {@link #fitScaleAndMin} sub-block by sub-block. */
    static void fitEachScaleAndMin(float[] row, int n, float[] weights, int nmax, float rmin, float rdelta, int nstep,
                                   int[] q, float[] scales, float[] mins) {
        float[] blockWeights = new float[n];
        for (int b = 0; b < scales.length; b++) {
            System.arraycopy(weights, n * b, blockWeights, 0, n);
            float[] fit = fitScaleAndMin(row, n * b, n, blockWeights, nmax, rmin, rdelta, nstep, q, n * b);
            scales[b] = fit[0];
            mins[b] = fit[1];
        }
    }

    /**
     * {@link #symmetricScale} for every {@code n}-value sub-block b of {@code row} (whose length is a multiple of n):
     * its scale to {@code scales[b]}, its quants (plus nmax) to {@code l[n * b..]}; weighted by {@code weights} along
     * the row or, when null, by x².
     */
    static void symmetricScales(float[] row, int n, int nmax, float[] weights, int[] l, float[] scales) {
        if (LANES) {
            LaneScaleSearch.symmetricScales(row, n, nmax, weights, l, scales);
        } else {
            eachSymmetricScale(row, n, nmax, weights, l, scales);
        }
    }

    /** {@link #symmetricScales} without the Vector API: {@link #symmetricScale} sub-block by sub-block. */
    static void eachSymmetricScale(float[] row, int n, int nmax, float[] weights, int[] l, float[] scales) {
        for (int b = 0; b < scales.length; b++) {
            scales[b] = symmetricScale(row, n * b, n, nmax, weights, n * b, l, n * b);
        }
    }

    /**
     * {@code make_qkx2_quants} / {@code make_qkx3_quants} (the same steps with weights given) for {@code n} values at
     * {@code row[at..]}: the scale s and min m (returned as {@code {s, -m}}, m <= 0) of {@code x ~ s * q + m}, q in
     * 0..nmax, minimising the {@code weights}-weighted squared error over {@code nstep + 1} trial scales
     * {@code (nmax + rmin + rdelta * step) / (max - min)}; the quants go to {@code q[qAt..]}.
     */
    static float[] fitScaleAndMin(float[] row, int at, int n, float[] weights, int nmax, float rmin, float rdelta,
                                  int nstep, int[] q, int qAt) {
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
     * {@code make_qx_quants} with rmse_type 1 for {@code n} values at {@code row[at..]}: the scale s of
     * {@code x ~ s * q}, q in -nmax..nmax-1, maximising the weighted fit over 19 trial scales, weighted by
     * {@code weights[wAt..]} or, when null, by x²; the quants (plus nmax) go to {@code l[lAt..]}. Returns 0 for an
     * all-zero group.
     */
    static float symmetricScale(float[] row, int at, int n, int nmax, float[] weights, int wAt, int[] l, int lAt) {
        float max = largestMagnitude(row, at, n);
        if (Math.abs(max) < GROUP_MAX_EPS) {
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
            float w = weights != null ? weights[wAt + i] : x * x;
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
                float w = weights != null ? weights[wAt + i] : x * x;
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
     * {@code make_q3_quants} with its refinement (do_rmse) for 16 values at {@code row[at..]}: the scale s of
     * {@code x ~ s * q}, q in -nmax..nmax-1, from {@code -nmax / max}, then up to 5 passes moving single quants where
     * that improves the x²-weighted fit; the quants (plus nmax) go to {@code l[lAt..]}. Returns 0 for an all-zero
     * group.
     */
    static float refinedSymmetricScale(float[] row, int at, int n, int nmax, int[] l, int lAt) {
        float max = largestMagnitude(row, at, n);
        if (Math.abs(max) < GROUP_MAX_EPS) {
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
            l[lAt + i] = q;
            float w = x * x;
            sumLX += w * x * q;
            sumL2 += w * q * q;
        }
        for (int pass = 0; pass < 5; pass++) {
            int changed = 0;
            for (int i = 0; i < n; i++) {
                float x = row[at + i];
                float w = x * x;
                float slx = sumLX - w * x * l[lAt + i];
                if (slx > 0) {
                    float sl2 = sumL2 - w * l[lAt + i] * l[lAt + i];
                    int q = Math.max(-nmax, Math.min(nmax - 1, nearestInt(x * sl2 / slx)));
                    if (q != l[lAt + i]) {
                        slx += w * x * q;
                        sl2 += w * q * q;
                        if (sl2 > 0 && slx * slx * sumL2 > sumLX * sumLX * sl2) {
                            l[lAt + i] = q;
                            sumLX = slx;
                            sumL2 = sl2;
                            changed++;
                        }
                    }
                }
            }
            if (changed == 0) {
                break;
            }
        }
        for (int i = 0; i < n; i++) {
            l[lAt + i] += nmax;
        }
        return sumL2 > 0f ? sumLX / sumL2 : 0f;
    }

    /**
     * {@code make_qp_quants}: the scale d of non-negative values {@code x ~ d * q}, q in 0..nmax (here a super-block's
     * sub-block scales or mins, quantized to 6 bits under an importance matrix), weighted by {@code weights}: 9 trial
     * scales, then up to 5 passes moving single quants. The quants go to {@code l}, as C's uint8 (0..255).
     */
    static float quantizedScale(float[] x, int nmax, float[] weights, int[] l) {
        int n = x.length;
        float max = 0f;
        for (float v : x) {
            max = Math.max(max, v);
        }
        if (max < GROUP_MAX_EPS) {
            Arrays.fill(l, 0);
            return 0f;
        }
        float iscale = nmax / max;
        for (int i = 0; i < n; i++) {
            l[i] = nearestInt(iscale * x[i]) & 0xFF;
        }
        float scale = 1 / iscale;
        float bestMse = 0f;
        for (int i = 0; i < n; i++) {
            float diff = x[i] - scale * l[i];
            bestMse += weights[i] * diff * diff;
        }
        for (int step = -4; step <= 4; step++) {
            if (step == 0) {
                continue;
            }
            float trialIscale = (0.1f * step + nmax) / max;
            float trialScale = 1 / trialIscale;
            float mse = 0f;
            for (int i = 0; i < n; i++) {
                int q = Math.min(nmax, nearestInt(trialIscale * x[i]));
                float diff = x[i] - trialScale * q;
                mse += weights[i] * diff * diff;
            }
            if (mse < bestMse) {
                bestMse = mse;
                iscale = trialIscale;
            }
        }
        float sumLX = 0f;
        float sumL2 = 0f;
        for (int i = 0; i < n; i++) {
            int q = Math.min(nmax, nearestInt(iscale * x[i]));
            l[i] = q & 0xFF;
            sumLX += weights[i] * x[i] * q; // NOTE: ggml sums the int, not the uint8 it stores
            sumL2 += weights[i] * q * q;
        }
        for (int pass = 0; pass < 5; pass++) {
            int changed = 0;
            for (int i = 0; i < n; i++) {
                float w = weights[i];
                float slx = sumLX - w * x[i] * l[i];
                float sl2 = sumL2 - w * l[i] * l[i];
                if (slx > 0 && sl2 > 0) {
                    int q = Math.min(nmax, nearestInt(x[i] * sl2 / slx));
                    if (q != l[i]) {
                        slx += w * x[i] * q;
                        sl2 += w * q * q;
                        if (slx * slx * sumL2 > sumLX * sumLX * sl2) {
                            l[i] = q & 0xFF;
                            sumLX = slx;
                            sumL2 = sl2;
                            changed++;
                        }
                    }
                }
            }
            if (changed == 0) {
                break;
            }
        }
        return sumL2 > 0f ? sumLX / sumL2 : 0f;
    }
}
