package dev.finetune4j.gguf;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LT;

/**
 * {@link ScaleSearch}'s per-sub-block searches for a whole row, on the Vector API: lane i runs sub-block i's search,
 * so each lane takes exactly the scalar steps, in the same order (every sum sequential over the sub-block's values),
 * and every lane's result, to the bit, is {@link ScaleSearch#fitScaleAndMin} / {@link ScaleSearch#symmetricScale}'s.
 * Only exactly rounded IEEE operations are used (add, multiply, divide, compare, bit masks, int-to-float), never a
 * fused multiply-add, so the bits are the same in every JIT tier. The sub-blocks of a row go through in groups of
 * {@link #LANES}, transposed so that value k of every sub-block in the group is one vector; the lanes past a row's last
 * sub-block hold zeros and are dropped. Only loaded when {@link ScaleSearch} finds the incubator module.
 */
final class LaneScaleSearch {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final int LANES = F.length();
    /** 1.5 * 2^23, {@link ScaleSearch#nearestInt}'s rounding constant. */
    private static final float ROUNDER = 12582912f;
    /** Where {@link #fitGroup} and its passes trade vectors: offsets into a scratch array of {@code SLOTS} vectors. */
    private static final int ISCALE = 0;
    private static final int SHIFT = LANES;
    private static final int SCALE = 2 * LANES;
    private static final int MIN = 3 * LANES;
    private static final int ERROR = 4 * LANES;
    private static final int SUM_Q = 5 * LANES;
    private static final int SUM_Q2 = 6 * LANES;
    private static final int SUM_QX = 7 * LANES;
    private static final int SLOTS = 8;

    private LaneScaleSearch() {
    }

    /**
     * {@link ScaleSearch#fitScaleAndMin} for every {@code n}-value sub-block b of {@code row}: its scale to
     * {@code scales[b]}, its min (negated, as returned there) to {@code mins[b]}, its quants to {@code q[n * b..]};
     * {@code weights} run along the row.
     */
    static void fitScalesAndMins(float[] row, int n, float[] weights, int nmax, float rmin, float rdelta, int nstep,
                                 int[] q, float[] scales, float[] mins) {
        float[] x = new float[n * LANES];
        float[] w = new float[n * LANES];
        int[] quants = new int[n * LANES];
        float[] scale = new float[LANES];
        float[] min = new float[LANES];
        float[] slots = new float[SLOTS * LANES];
        for (int first = 0; first < scales.length; first += LANES) {
            int count = Math.min(LANES, scales.length - first);
            transpose(row, n, first, count, x);
            transpose(weights, n, first, count, w);
            fitGroup(x, w, n, nmax, rmin, rdelta, nstep, quants, scale, min, slots);
            untranspose(quants, n, first, count, q);
            System.arraycopy(scale, 0, scales, first, count);
            System.arraycopy(min, 0, mins, first, count);
        }
    }

    /**
     * {@link ScaleSearch#symmetricScale} for every {@code n}-value sub-block b of {@code row}: its scale to
     * {@code scales[b]}, its quants (plus nmax) to {@code l[n * b..]}; weighted by {@code weights} along the row or,
     * when null, by x².
     */
    static void symmetricScales(float[] row, int n, int nmax, float[] weights, int[] l, float[] scales) {
        float[] x = new float[n * LANES];
        float[] w = new float[n * LANES];
        int[] quants = new int[n * LANES];
        float[] scale = new float[LANES];
        for (int first = 0; first < scales.length; first += LANES) {
            int count = Math.min(LANES, scales.length - first);
            transpose(row, n, first, count, x);
            if (weights != null) {
                transpose(weights, n, first, count, w);
            } else {
                for (int i = 0; i < x.length; i++) {
                    w[i] = x[i] * x[i];
                }
            }
            symmetricGroup(x, w, n, nmax, quants, scale);
            untranspose(quants, n, first, count, l);
            System.arraycopy(scale, 0, scales, first, count);
        }
    }

    /**
     * One group's {@link ScaleSearch#fitScaleAndMin}.
     *
     * <p>NOTE: the error and sum passes are methods of their own (in one method the Vector API's inlined wrappers
     * pass C2's node budget, and the ops past it stay slow calls), and they trade their vectors through
     * {@code slots}, not as arguments and results: C2 compiles a vector it cannot see the exact class of (one
     * returned by a call it did not inline) as slow calls too.
     */
    private static void fitGroup(float[] x, float[] w, int n, int nmax, float rmin, float rdelta, int nstep,
                                 int[] quants, float[] scaleOut, float[] minOut, float[] slots) {
        FloatVector x0 = FloatVector.fromArray(F, x, 0);
        FloatVector min = x0;
        FloatVector max = x0;
        FloatVector sumW = FloatVector.fromArray(F, w, 0);
        FloatVector sumX = sumW.mul(x0);
        for (int k = 1; k < n; k++) {
            FloatVector xk = FloatVector.fromArray(F, x, k * LANES);
            FloatVector wk = FloatVector.fromArray(F, w, k * LANES);
            // NOTE: compare and blend, not lanewise min/max, which would order -0 before +0 where C's < does not
            min = min.blend(xk, xk.compare(LT, min));
            max = max.blend(xk, xk.compare(GT, max));
            sumW = sumW.add(wk);
            sumX = sumX.add(wk.mul(xk));
        }
        FloatVector zero = FloatVector.zero(F);
        min = min.blend(zero, min.compare(GT, zero));
        VectorMask<Float> flat = max.compare(EQ, min);
        FloatVector flatMin = min;
        FloatVector iscale = FloatVector.broadcast(F, (float) nmax).div(max.sub(min));
        FloatVector scale = FloatVector.broadcast(F, 1f).div(iscale);
        iscale.intoArray(slots, ISCALE);
        min.intoArray(slots, SHIFT);
        scale.intoArray(slots, SCALE);
        min.intoArray(slots, MIN);
        fitError(x, w, n, nmax, slots);
        FloatVector bestError = FloatVector.fromArray(F, slots, ERROR);
        // the quants are a function of (iscale, min at the trial): keep the winner's and quantize once at the end
        FloatVector bestIscale = iscale;
        FloatVector bestShift = min;
        for (int step = 0; step <= nstep; step++) {
            iscale = FloatVector.broadcast(F, rmin + rdelta * step + nmax).div(max.sub(min));
            iscale.intoArray(slots, ISCALE);
            min.intoArray(slots, SHIFT);
            quantSums(x, w, n, nmax, slots);
            FloatVector sumL = FloatVector.fromArray(F, slots, SUM_Q);
            FloatVector sumL2 = FloatVector.fromArray(F, slots, SUM_Q2);
            FloatVector sumXL = FloatVector.fromArray(F, slots, SUM_QX);
            FloatVector det = sumW.mul(sumL2).sub(sumL.mul(sumL));
            FloatVector trialScale = sumW.mul(sumXL).sub(sumX.mul(sumL)).div(det);
            FloatVector trialMin = sumL2.mul(sumX).sub(sumL.mul(sumXL)).div(det);
            VectorMask<Float> positiveMin = trialMin.compare(GT, zero);
            trialMin = trialMin.blend(zero, positiveMin);
            trialScale = trialScale.blend(sumXL.div(sumL2), positiveMin);
            trialScale.intoArray(slots, SCALE);
            trialMin.intoArray(slots, MIN);
            fitError(x, w, n, nmax, slots);
            FloatVector error = FloatVector.fromArray(F, slots, ERROR);
            VectorMask<Float> better = det.compare(GT, zero).and(error.compare(LT, bestError));
            bestIscale = bestIscale.blend(iscale, better);
            bestShift = bestShift.blend(min, better);
            bestError = bestError.blend(error, better);
            scale = scale.blend(trialScale, better);
            min = min.blend(trialMin, better);
        }
        IntVector noQuant = IntVector.zero(I);
        IntVector maxQuant = IntVector.broadcast(I, nmax);
        VectorMask<Integer> flatInts = flat.cast(I);
        for (int k = 0; k < n; k++) {
            FloatVector xk = FloatVector.fromArray(F, x, k * LANES);
            clampedNearestInts(bestIscale.mul(xk.sub(bestShift)), noQuant, maxQuant)
                    .blend(noQuant, flatInts).intoArray(quants, k * LANES);
        }
        scale.blend(zero, flat).intoArray(scaleOut, 0);
        min.blend(flatMin, flat).neg().intoArray(minOut, 0);
    }

    /**
     * The weighted error {@code sum w (scale * q + min - x)²} of the quants q of {@code (iscale, shift)}, from and to
     * {@code slots}.
     */
    private static void fitError(float[] x, float[] w, int n, int nmax, float[] slots) {
        FloatVector iscale = FloatVector.fromArray(F, slots, ISCALE);
        FloatVector shift = FloatVector.fromArray(F, slots, SHIFT);
        FloatVector scale = FloatVector.fromArray(F, slots, SCALE);
        FloatVector min = FloatVector.fromArray(F, slots, MIN);
        IntVector noQuant = IntVector.zero(I);
        IntVector maxQuant = IntVector.broadcast(I, nmax);
        FloatVector error = FloatVector.zero(F);
        for (int k = 0; k < n; k++) {
            FloatVector xk = FloatVector.fromArray(F, x, k * LANES);
            FloatVector qk = floats(clampedNearestInts(iscale.mul(xk.sub(shift)), noQuant, maxQuant));
            FloatVector diff = scale.mul(qk).add(min).sub(xk);
            error = error.add(FloatVector.fromArray(F, w, k * LANES).mul(diff.mul(diff)));
        }
        error.intoArray(slots, ERROR);
    }

    /** The sums {@code w q}, {@code w q²} and {@code w q x} of the quants q of {@code (iscale, shift)}, in slots. */
    private static void quantSums(float[] x, float[] w, int n, int nmax, float[] slots) {
        FloatVector iscale = FloatVector.fromArray(F, slots, ISCALE);
        FloatVector shift = FloatVector.fromArray(F, slots, SHIFT);
        IntVector noQuant = IntVector.zero(I);
        IntVector maxQuant = IntVector.broadcast(I, nmax);
        FloatVector sumL = FloatVector.zero(F);
        FloatVector sumL2 = sumL;
        FloatVector sumXL = sumL;
        for (int k = 0; k < n; k++) {
            FloatVector xk = FloatVector.fromArray(F, x, k * LANES);
            FloatVector qk = floats(clampedNearestInts(iscale.mul(xk.sub(shift)), noQuant, maxQuant));
            FloatVector wq = FloatVector.fromArray(F, w, k * LANES).mul(qk);
            sumL = sumL.add(wq);
            sumL2 = sumL2.add(wq.mul(qk));
            sumXL = sumXL.add(wq.mul(xk));
        }
        sumL.intoArray(slots, SUM_Q);
        sumL2.intoArray(slots, SUM_Q2);
        sumXL.intoArray(slots, SUM_QX);
    }

    private static void symmetricGroup(float[] x, float[] w, int n, int nmax, int[] quants, float[] scaleOut) {
        FloatVector zero = FloatVector.zero(F);
        IntVector lowQuant = IntVector.broadcast(I, -nmax);
        IntVector highQuant = IntVector.broadcast(I, nmax - 1);
        FloatVector max = zero;
        FloatVector amax = zero;
        for (int k = 0; k < n; k++) {
            FloatVector xk = FloatVector.fromArray(F, x, k * LANES);
            FloatVector ak = xk.abs();
            VectorMask<Float> larger = ak.compare(GT, amax);
            amax = amax.blend(ak, larger);
            max = max.blend(xk, larger);
        }
        VectorMask<Float> empty = max.abs().compare(LT, ScaleSearch.GROUP_MAX_EPS);
        FloatVector scale = zero;
        FloatVector best = zero;
        FloatVector bestIscale = zero;
        // trial 0 is the first guess, -nmax / max, taken as is; steps -9..9 (not 0) replace it where they fit better
        for (int trial = 0; trial <= 18; trial++) {
            int step = trial <= 9 ? trial - 10 : trial - 9;
            FloatVector iscale = FloatVector.broadcast(F, trial == 0 ? -nmax : -(nmax + 0.1f * step)).div(max);
            FloatVector sumLX = zero;
            FloatVector sumL2 = zero;
            for (int k = 0; k < n; k++) {
                FloatVector xk = FloatVector.fromArray(F, x, k * LANES);
                FloatVector wk = FloatVector.fromArray(F, w, k * LANES);
                FloatVector qk = floats(clampedNearestInts(iscale.mul(xk), lowQuant, highQuant));
                sumLX = sumLX.add(wk.mul(xk).mul(qk));
                sumL2 = sumL2.add(wk.mul(qk).mul(qk));
            }
            if (trial == 0) {
                scale = sumLX.div(sumL2).blend(zero, sumL2.compare(EQ, zero));
                best = scale.mul(sumLX);
                bestIscale = iscale;
            } else {
                VectorMask<Float> better = sumL2.compare(GT, zero)
                        .and(sumLX.mul(sumLX).compare(GT, best.mul(sumL2)));
                bestIscale = bestIscale.blend(iscale, better);
                scale = scale.blend(sumLX.div(sumL2), better);
                best = scale.mul(sumLX).blend(best, better.not());
            }
        }
        VectorMask<Integer> emptyInts = empty.cast(I);
        for (int k = 0; k < n; k++) {
            clampedNearestInts(bestIscale.mul(FloatVector.fromArray(F, x, k * LANES)), lowQuant, highQuant)
                    .add(IntVector.broadcast(I, nmax)).blend(IntVector.zero(I), emptyInts)
                    .intoArray(quants, k * LANES);
        }
        scale.blend(zero, empty).intoArray(scaleOut, 0);
    }

    /**
     * {@code clamp(nearest_int(v), low, high)}, {@link ScaleSearch#nearestInt} in every lane.
     *
     * <p>NOTE: every operand is a vector, none a scalar to broadcast: C2 inlines at most 15 calls deep, and the
     * Vector API's broadcasting overloads nest deep enough that ops here would otherwise stay uncompiled calls.
     */
    private static IntVector clampedNearestInts(FloatVector v, IntVector low, IntVector high) {
        return v.add(FloatVector.broadcast(F, ROUNDER)).reinterpretAsInts().and(IntVector.broadcast(I, 0x007fffff))
                .sub(IntVector.broadcast(I, 0x00400000)).max(low).min(high);
    }

    private static FloatVector floats(IntVector v) {
        return (FloatVector) v.convertShape(VectorOperators.I2F, F, 0);
    }

    /** Sub-blocks first..first+count of {@code values} into {@code lanes}: value k of the i-th at k * LANES + i. */
    private static void transpose(float[] values, int n, int first, int count, float[] lanes) {
        if (count < LANES) {
            Arrays.fill(lanes, 0f);
        }
        for (int i = 0; i < count; i++) {
            int from = (first + i) * n;
            for (int k = 0; k < n; k++) {
                lanes[k * LANES + i] = values[from + k];
            }
        }
    }

    /** {@link #transpose}'s inverse for the quants of the group's real sub-blocks. */
    private static void untranspose(int[] lanes, int n, int first, int count, int[] values) {
        for (int i = 0; i < count; i++) {
            for (int k = 0; k < n; k++) {
                values[(first + i) * n + k] = lanes[k * LANES + i];
            }
        }
    }
}
