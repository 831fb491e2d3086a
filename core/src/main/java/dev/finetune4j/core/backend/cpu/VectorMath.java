package dev.finetune4j.core.backend.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link MathKernels} on the Vector API with a polynomial exponential, about 8x faster than {@code Math.exp}
 * per element and within 1e-7 relative of it.
 *
 * <p>NOTE: {@code lanewise(EXP)} would be faster still, but its compiled form (a vendor math library) and its
 * interpreted form ({@code Math.exp} per lane) round differently, so results would depend on JIT timing.
 * Everything here is an exactly rounded IEEE operation (fma, add, multiply, compare, bit shifts) and gives the
 * same bits in every tier; lane sums are reduced in a fixed order for the same reason.
 */
final class VectorMath implements MathKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> SD = VectorSpecies.of(double.class, S.vectorShape());
    private static final int L = S.length();
    /** Below this, e^x is a float subnormal or zero; above the other bound it overflows. */
    private static final float EXP_MIN = -87.33654f;
    private static final float EXP_MAX = 88.72283f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude < 2^22 to an integer kept in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;

    @Override
    public float max(float[] a, int off, int n) {
        int i = 0;
        float max = Float.NEGATIVE_INFINITY;
        if (n >= L) {
            FloatVector m = FloatVector.fromArray(S, a, off);
            for (i = L; i <= n - L; i += L) {
                m = m.max(FloatVector.fromArray(S, a, off + i));
            }
            max = m.reduceLanes(VectorOperators.MAX); // max is exact and order-free
        }
        for (; i < n; i++) {
            max = Math.max(max, a[off + i]);
        }
        return max;
    }

    @Override
    public double expInPlace(float[] a, int off, int n, float shift) {
        return expSum(a, off, n, shift, true);
    }

    @Override
    public double sumExp(float[] a, int off, int n, float shift) {
        return expSum(a, off, n, shift, false);
    }

    @Override
    public void sigmoid(float[] x, float[] out, int from, int to) {
        int i = from;
        for (; i <= to - L; i += L) {
            FloatVector e = exp(FloatVector.fromArray(S, x, i).neg());
            FloatVector.broadcast(S, 1f).div(e.add(1f)).intoArray(out, i);
        }
        for (; i < to; i++) {
            out[i] = 1f / (1f + expScalar(-x[i]));
        }
    }

    private static double expSum(float[] a, int off, int n, float shift, boolean store) {
        DoubleVector lo = DoubleVector.zero(SD);
        DoubleVector hi = DoubleVector.zero(SD);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector e = exp(FloatVector.fromArray(S, a, off + i).sub(shift));
            if (store) {
                e.intoArray(a, off + i);
            }
            lo = lo.add(e.convertShape(VectorOperators.F2D, SD, 0));
            hi = hi.add(e.convertShape(VectorOperators.F2D, SD, 1));
        }
        double sum = 0;
        double[] lanes = lo.add(hi).toArray();
        for (double lane : lanes) {
            sum += lane;
        }
        for (; i < n; i++) {
            float e = expScalar(a[off + i] - shift);
            if (store) {
                a[off + i] = e;
            }
            sum += e;
        }
        return sum;
    }

    /**
     * e^x by Cody-Waite range reduction, x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two so that n ln2 is
     * exact), a degree-7 polynomial for e^r (Cephes' expf coefficients), and 2^n built in the exponent bits.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector shifted = xc.fma(FloatVector.broadcast(S, 1.44269504f), FloatVector.broadcast(S, ROUNDER));
        FloatVector n = shifted.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(S, -0.693359375f), xc);
        r = n.fma(FloatVector.broadcast(S, 2.12194440e-4f), r);
        FloatVector p = r.fma(FloatVector.broadcast(S, 1.9875691500e-4f), FloatVector.broadcast(S, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        p = p.fma(r.mul(r), r).add(1f);
        // The integer n sits in the low bits of 'shifted': subtract the rounder's bits and add the exponent
        // bias. NOTE: 2^(n-1) * 2, because 2^n itself overflows at n = 128 (x just below EXP_MAX).
        FloatVector halfTwoToN = shifted.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUNDER) - 126)
                .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector y = p.mul(halfTwoToN).mul(2f);
        y = y.blend(0f, x.compare(VectorOperators.LT, EXP_MIN));
        return y.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_MAX));
    }

    /** The same polynomial on one lane, for row tails: a row's values then never depend on where it starts. */
    private static float expScalar(float x) {
        return exp(FloatVector.broadcast(S, x)).lane(0);
    }
}
