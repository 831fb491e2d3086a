package dev.finetune4j.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Products with at most {@value #MAX} rows or columns: LoRA's rank-r factors. The panel kernel of
 * {@link VectorGemm} computes tiles of 6 rows by 2 vectors (32 columns at AVX-512), so a rank-8 product wastes
 * three quarters of its work on padding and spends more packing a full-size operand than multiplying it.
 * Here the narrow side is the register block: {@link #fewRows} streams B's rows where they lie, {@link #fewColumns}
 * streams A's rows against 8-lane vectors of op(B). Every sum runs over k in order, so results do not depend on
 * threads or JIT state.
 */
final class SkinnyGemm {
    /** The narrow side handled here, and the register block: 8 accumulators. */
    static final int MAX = 8;
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final VectorSpecies<Float> S8 = FloatVector.SPECIES_256;
    /** 8-lane vectors are native where the preferred shape is at least 256 bits (AVX2, AVX-512). */
    static final boolean EIGHT_LANES_NATIVE = S.vectorShape().vectorBitSize() >= VectorShape.S_256_BIT.vectorBitSize();

    private SkinnyGemm() {
    }

    /** C (m, n) (+)= op(A) (m, k) B (k, n) for m <= {@value #MAX} and a row-major B. */
    static void fewRows(float[] a, int aOff, boolean transposeA, float[] b, int bOff, float[] c, int cOff,
                        int m, int n, int k, boolean accumulate, boolean parallel) {
        float[] ap = columnsOfA(a, aOff, transposeA, m, k);
        int fullChunks = n / L;
        VectorGemm.forEach(fullChunks + (n % L == 0 ? 0 : 1), parallel, chunk -> {
            int j0 = chunk * L;
            if (chunk < fullChunks) {
                rowsTimesColumns(ap, b, bOff + j0, n, c, cOff + j0, n, m, k, L, accumulate);
            } else {
                // the last, partial chunk: its columns copied into a zero-padded (k, L) block
                int cols = n - j0;
                float[] tail = new float[k * L];
                for (int p = 0; p < k; p++) {
                    System.arraycopy(b, bOff + p * n + j0, tail, p * L, cols);
                }
                rowsTimesColumns(ap, tail, 0, L, c, cOff + j0, n, m, k, cols, accumulate);
            }
        });
    }

    /**
     * {@link #fewRows(float[], int, boolean, float[], int, float[], int, int, int, int, boolean, boolean)} with B
     * read from storage: each chunk of L columns converted into a (k, L) block, so the sums are the same.
     */
    static void fewRows(float[] a, int aOff, boolean transposeA, StoredMatrix b, float[] c, int cOff,
                        int m, int n, int k, boolean accumulate, boolean parallel) {
        float[] ap = columnsOfA(a, aOff, transposeA, m, k);
        VectorGemm.forEach((n + L - 1) / L, parallel, chunk -> {
            int j0 = chunk * L;
            int cols = Math.min(L, n - j0);
            float[] block = new float[k * L];
            for (int p = 0; p < k; p++) {
                b.read((long) p * n + j0, block, p * L, cols);
            }
            rowsTimesColumns(ap, block, 0, L, c, cOff + j0, n, m, k, cols, accumulate);
        });
    }

    /** {@code ap[p*8 + i] = op(A)[i][p]} for op(A) (m, k), rows past m zero. */
    private static float[] columnsOfA(float[] a, int aOff, boolean transposeA, int m, int k) {
        float[] ap = new float[k * MAX];
        for (int p = 0; p < k; p++) {
            for (int i = 0; i < m; i++) {
                ap[p * MAX + i] = transposeA ? a[aOff + p * m + i] : a[aOff + i * k + p];
            }
        }
        return ap;
    }

    /** C[0..m)[0..cols) (+)= the 8 rows of ap times L columns of B (row p at {@code b[bo + p*ldb]}). */
    private static void rowsTimesColumns(float[] ap, float[] b, int bo, int ldb, float[] c, int co, int ldc, int m,
                                         int k, int cols, boolean accumulate) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S), c2 = FloatVector.zero(S), c3 = FloatVector.zero(S);
        FloatVector c4 = FloatVector.zero(S), c5 = FloatVector.zero(S), c6 = FloatVector.zero(S), c7 = FloatVector.zero(S);
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S, b, bo + p * ldb);
            int ai = p * MAX;
            c0 = FloatVector.broadcast(S, ap[ai]).fma(bv, c0);
            c1 = FloatVector.broadcast(S, ap[ai + 1]).fma(bv, c1);
            c2 = FloatVector.broadcast(S, ap[ai + 2]).fma(bv, c2);
            c3 = FloatVector.broadcast(S, ap[ai + 3]).fma(bv, c3);
            c4 = FloatVector.broadcast(S, ap[ai + 4]).fma(bv, c4);
            c5 = FloatVector.broadcast(S, ap[ai + 5]).fma(bv, c5);
            c6 = FloatVector.broadcast(S, ap[ai + 6]).fma(bv, c6);
            c7 = FloatVector.broadcast(S, ap[ai + 7]).fma(bv, c7);
        }
        float[] rows = new float[MAX * L];
        c0.intoArray(rows, 0);
        c1.intoArray(rows, L);
        c2.intoArray(rows, 2 * L);
        c3.intoArray(rows, 3 * L);
        c4.intoArray(rows, 4 * L);
        c5.intoArray(rows, 5 * L);
        c6.intoArray(rows, 6 * L);
        c7.intoArray(rows, 7 * L);
        store(rows, L, c, co, ldc, m, cols, accumulate);
    }

    /**
     * C (m, n) (+)= A (m, k) op(B) (k, n) for n <= {@value #MAX} and a row-major A; needs {@link #EIGHT_LANES_NATIVE}.
     * {@code bp} is op(B) packed as one column panel of width {@value #MAX} ({@link Packing}):
     * {@code bp[p*8 + j] = op(B)[p][j]}, columns past n zero.
     */
    static void fewColumns(float[] a, int aOff, float[] bp, float[] c, int cOff, int m, int n, int k,
                           boolean accumulate, boolean parallel) {
        int fullGroups = m / MAX;
        VectorGemm.forEach(fullGroups + (m % MAX == 0 ? 0 : 1), parallel, group -> {
            int i0 = group * MAX;
            if (group < fullGroups) {
                rowGroupTimesColumns(a, aOff + i0 * k, bp, c, cOff + i0 * n, n, MAX, k, accumulate);
            } else {
                float[] tail = new float[MAX * k];
                System.arraycopy(a, aOff + i0 * k, tail, 0, (m - i0) * k);
                rowGroupTimesColumns(tail, 0, bp, c, cOff + i0 * n, n, m - i0, k, accumulate);
            }
        });
    }

    /** C[0..rows)[0..n) (+)= 8 rows of A (row r at {@code a[ao + r*k]}) times the 8 packed columns bp. */
    private static void rowGroupTimesColumns(float[] a, int ao, float[] bp, float[] c, int co, int n, int rows, int k,
                                             boolean accumulate) {
        FloatVector c0 = FloatVector.zero(S8), c1 = FloatVector.zero(S8), c2 = FloatVector.zero(S8), c3 = FloatVector.zero(S8);
        FloatVector c4 = FloatVector.zero(S8), c5 = FloatVector.zero(S8), c6 = FloatVector.zero(S8), c7 = FloatVector.zero(S8);
        // one index per row, each advancing by 1, so that the JIT hoists the bounds checks
        int a0 = ao, a1 = ao + k, a2 = ao + 2 * k, a3 = ao + 3 * k;
        int a4 = ao + 4 * k, a5 = ao + 5 * k, a6 = ao + 6 * k, a7 = ao + 7 * k;
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(S8, bp, p * MAX);
            c0 = FloatVector.broadcast(S8, a[a0 + p]).fma(bv, c0);
            c1 = FloatVector.broadcast(S8, a[a1 + p]).fma(bv, c1);
            c2 = FloatVector.broadcast(S8, a[a2 + p]).fma(bv, c2);
            c3 = FloatVector.broadcast(S8, a[a3 + p]).fma(bv, c3);
            c4 = FloatVector.broadcast(S8, a[a4 + p]).fma(bv, c4);
            c5 = FloatVector.broadcast(S8, a[a5 + p]).fma(bv, c5);
            c6 = FloatVector.broadcast(S8, a[a6 + p]).fma(bv, c6);
            c7 = FloatVector.broadcast(S8, a[a7 + p]).fma(bv, c7);
        }
        float[] out = new float[MAX * MAX];
        c0.intoArray(out, 0);
        c1.intoArray(out, MAX);
        c2.intoArray(out, 2 * MAX);
        c3.intoArray(out, 3 * MAX);
        c4.intoArray(out, 4 * MAX);
        c5.intoArray(out, 5 * MAX);
        c6.intoArray(out, 6 * MAX);
        c7.intoArray(out, 7 * MAX);
        store(out, MAX, c, co, n, rows, n, accumulate);
    }

    /** C[r][j] (+)= block[r*width + j] for r < rows, j < cols. */
    private static void store(float[] block, int width, float[] c, int co, int ldc, int rows, int cols, boolean accumulate) {
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                int ci = co + r * ldc + j;
                c[ci] = accumulate ? c[ci] + block[r * width + j] : block[r * width + j];
            }
        }
    }
}
