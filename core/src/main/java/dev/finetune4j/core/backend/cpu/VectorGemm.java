package dev.finetune4j.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.stream.IntStream;

/**
 * Vector API dot-form product: blocks of 2 rows of {@code a} by 4 rows of {@code bt} keep 8 accumulators in
 * registers (AVX2 has 16), so each pass over k loads 6 vectors for 8 fused multiply-adds.
 */
final class VectorGemm implements GemmKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int ROWS = 2;
    private static final int COLS = 4;

    @Override
    public String name() {
        return "vector-" + S.length() * 32 + "bit";
    }

    @Override
    public void multiplyRows(float[] a, int aOff, float[] bt, int btOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        int rowBlocks = (m + ROWS - 1) / ROWS;
        IntStream.range(0, rowBlocks).parallel().forEach(rb -> {
            int i0 = rb * ROWS;
            if (i0 + ROWS <= m) {
                rowPair(a, aOff, bt, btOff, c, cOff, i0, n, k, accumulate);
            } else {
                for (int i = i0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        store(c, cOff + i * n + j, dot(a, aOff + i * k, bt, btOff + j * k, k), accumulate);
                    }
                }
            }
        });
    }

    private static void rowPair(float[] a, int aOff, float[] bt, int btOff, float[] c, int cOff, int i0, int n, int k, boolean acc) {
        int a0 = aOff + i0 * k;
        int a1 = a0 + k;
        int upper = S.loopBound(k);
        int j = 0;
        for (; j + COLS <= n; j += COLS) {
            int b0 = btOff + j * k;
            int b1 = b0 + k;
            int b2 = b1 + k;
            int b3 = b2 + k;
            FloatVector s00 = FloatVector.zero(S), s01 = FloatVector.zero(S), s02 = FloatVector.zero(S), s03 = FloatVector.zero(S);
            FloatVector s10 = FloatVector.zero(S), s11 = FloatVector.zero(S), s12 = FloatVector.zero(S), s13 = FloatVector.zero(S);
            int p = 0;
            for (; p < upper; p += S.length()) {
                FloatVector x0 = FloatVector.fromArray(S, a, a0 + p);
                FloatVector x1 = FloatVector.fromArray(S, a, a1 + p);
                FloatVector y = FloatVector.fromArray(S, bt, b0 + p);
                s00 = x0.fma(y, s00);
                s10 = x1.fma(y, s10);
                y = FloatVector.fromArray(S, bt, b1 + p);
                s01 = x0.fma(y, s01);
                s11 = x1.fma(y, s11);
                y = FloatVector.fromArray(S, bt, b2 + p);
                s02 = x0.fma(y, s02);
                s12 = x1.fma(y, s12);
                y = FloatVector.fromArray(S, bt, b3 + p);
                s03 = x0.fma(y, s03);
                s13 = x1.fma(y, s13);
            }
            float r00 = s00.reduceLanes(VectorOperators.ADD), r01 = s01.reduceLanes(VectorOperators.ADD);
            float r02 = s02.reduceLanes(VectorOperators.ADD), r03 = s03.reduceLanes(VectorOperators.ADD);
            float r10 = s10.reduceLanes(VectorOperators.ADD), r11 = s11.reduceLanes(VectorOperators.ADD);
            float r12 = s12.reduceLanes(VectorOperators.ADD), r13 = s13.reduceLanes(VectorOperators.ADD);
            for (; p < k; p++) {
                float x0 = a[a0 + p];
                float x1 = a[a1 + p];
                r00 += x0 * bt[b0 + p];
                r01 += x0 * bt[b1 + p];
                r02 += x0 * bt[b2 + p];
                r03 += x0 * bt[b3 + p];
                r10 += x1 * bt[b0 + p];
                r11 += x1 * bt[b1 + p];
                r12 += x1 * bt[b2 + p];
                r13 += x1 * bt[b3 + p];
            }
            int c0 = cOff + i0 * n + j;
            int c1 = c0 + n;
            store(c, c0, r00, acc);
            store(c, c0 + 1, r01, acc);
            store(c, c0 + 2, r02, acc);
            store(c, c0 + 3, r03, acc);
            store(c, c1, r10, acc);
            store(c, c1 + 1, r11, acc);
            store(c, c1 + 2, r12, acc);
            store(c, c1 + 3, r13, acc);
        }
        for (; j < n; j++) {
            store(c, cOff + i0 * n + j, dot(a, a0, bt, btOff + j * k, k), acc);
            store(c, cOff + (i0 + 1) * n + j, dot(a, a1, bt, btOff + j * k, k), acc);
        }
    }

    private static float dot(float[] a, int ao, float[] b, int bo, int k) {
        int upper = S.loopBound(k);
        FloatVector s = FloatVector.zero(S);
        int p = 0;
        for (; p < upper; p += S.length()) {
            s = FloatVector.fromArray(S, a, ao + p).fma(FloatVector.fromArray(S, b, bo + p), s);
        }
        float r = s.reduceLanes(VectorOperators.ADD);
        for (; p < k; p++) {
            r += a[ao + p] * b[bo + p];
        }
        return r;
    }

    private static void store(float[] c, int i, float v, boolean accumulate) {
        c[i] = accumulate ? c[i] + v : v;
    }
}
