package dev.finetune4j.peft.mix;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One-sided Jacobi SVD: hand cases, reconstruction and orthogonality, and torch.linalg.svd's results. */
class ThinSvdTest {

    @Test
    void handCaseTwoByTwo() {
        // [[3, 0], [4, 5]]: M^T M = [[25, 20], [20, 25]], eigenvalues 45 and 5; V = [[1, 1], [1, -1]] / sqrt(2)
        ThinSvd d = ThinSvd.of(new Matrix(2, 2, new double[]{3, 0, 4, 5}));
        assertArrayEquals(new double[]{Math.sqrt(45), Math.sqrt(5)}, d.s(), 1e-14);
        double h = Math.sqrt(0.5);
        // the sign rule makes the largest entry of each right vector positive (the first on a tie)
        assertArrayEquals(new double[]{h, h, h, -h}, d.vt().values(), 1e-14);
        // U = M V / S: first column (3, 9) / sqrt(90), second (3, -1) / sqrt(10)
        assertArrayEquals(new double[]{3 / Math.sqrt(90), 3 / Math.sqrt(10), 9 / Math.sqrt(90), -1 / Math.sqrt(10)},
                d.u().values(), 1e-14);
    }

    @Test
    void diagonalMatrixGivesItsMagnitudesInDescendingOrder() {
        ThinSvd d = ThinSvd.of(new Matrix(3, 3, new double[]{1, 0, 0, 0, -7, 0, 0, 0, 2}));
        assertArrayEquals(new double[]{7, 2, 1}, d.s(), 0);
        // the second column of M is (0, -7, 0): u_1 = (0, -1, 0) with v_1 = (0, 1, 0)
        assertArrayEquals(new double[]{0, 1, 0}, row(d.vt(), 0), 0);
        assertEquals(-1, d.u().get(1, 0), 0);
    }

    @Test
    void zeroMatrixHasZeroValuesZeroUAndOrthonormalV() {
        ThinSvd d = ThinSvd.of(Matrix.zeros(4, 3));
        assertArrayEquals(new double[]{0, 0, 0}, d.s(), 0);
        assertArrayEquals(new double[12], d.u().values(), 0);
        assertOrthonormalColumns(d.vt().transposed(), 1e-15);
    }

    @ParameterizedTest
    @ValueSource(strings = {"7x3", "3x7", "6x6", "1x5", "5x1", "40x17"})
    void reconstructsWithOrthonormalFactors(String shape) {
        String[] mn = shape.split("x");
        Matrix m = random(Integer.parseInt(mn[0]), Integer.parseInt(mn[1]), 11);
        ThinSvd d = ThinSvd.of(m);
        int k = Math.min(m.rows(), m.cols());
        assertEquals(k, d.s().length);
        for (int i = 1; i < k; i++) {
            assertTrue(d.s()[i - 1] >= d.s()[i], "descending at " + i);
        }
        assertTrue(d.leadingUs(k).times(d.vt()).maxAbsDifference(m) < 1e-13, "U S V^T reconstructs M");
        assertOrthonormalColumns(d.u(), 1e-13);
        assertOrthonormalColumns(d.vt().transposed(), 1e-13);
    }

    @Test
    void rankDeficientMatrixHasANoiseTailWithZeroLeftVectors() {
        Matrix m = random(40, 3, 3).times(random(3, 30, 4)); // rank 3: 27 singular values are rounding noise
        ThinSvd d = ThinSvd.of(m);
        assertTrue(d.s()[2] > 1e-3 && d.s()[3] < 1e-13, "rank 3: " + java.util.Arrays.toString(d.s()));
        assertTrue(d.leadingUs(3).times(d.leadingVt(3)).maxAbsDifference(m) < 1e-12, "rank-3 truncation is exact");
        assertOrthonormalColumns(new Matrix(40, 3, d.leadingUs(3).values().clone()).times(new Matrix(3, 3,
                new double[]{1 / d.s()[0], 0, 0, 0, 1 / d.s()[1], 0, 0, 0, 1 / d.s()[2]})), 1e-12);
        assertOrthonormalColumns(d.vt().transposed(), 1e-12);
        for (int i = 0; i < 40; i++) {
            for (int k = 3; k < 30; k++) {
                assertEquals(0, d.u().get(i, k), 0, "noise directions are left zero");
            }
        }
    }

    @Test
    void smallSingularValuesAreAccurateToRoundingOfTheLargest() {
        // diag(1, 1e-9) rotated on both sides: eigenvalues of M^T M would be 1 and 1e-18, and 1e-18 is below the
        // rounding of 1, so a Gram-matrix method gets the small value only to about sqrt(eps) = 1.5e-8
        double c = Math.cos(0.3);
        double s = Math.sin(0.3);
        Matrix rotation = new Matrix(2, 2, new double[]{c, -s, s, c});
        Matrix m = rotation.times(new Matrix(2, 2, new double[]{1, 0, 0, 1e-9})).times(rotation.transposed());
        assertEquals(1e-9, ThinSvd.of(m).s()[1], 1e-15);
    }

    @ParameterizedTest
    @ValueSource(strings = {"wide", "tall", "low_rank"})
    void agreesWithTorchLinalgSvdOnProductsAndValues(String name) {
        Map<String, Matrix> golden = MixFixture.golden();
        Matrix m = golden.get("svd_case." + name + "/matrix");
        Matrix u = golden.get("svd_case." + name + "/U");
        double[] s = golden.get("svd_case." + name + "/S").values();
        Matrix vt = golden.get("svd_case." + name + "/Vh");
        ThinSvd d = ThinSvd.of(m);
        assertArrayEquals(s, d.s(), 1e-6, "singular values (torch's stored as float32)");
        int distinct = name.equals("low_rank") ? 2 : s.length; // beyond rank 2 the vectors are any completion
        for (int r = 1; r <= distinct; r++) {
            Matrix torchProduct = scaleColumns(u, s, r).times(firstRows(vt, r));
            double diff = d.leadingUs(r).times(d.leadingVt(r)).maxAbsDifference(torchProduct);
            assertTrue(diff < 1e-5, "rank-" + r + " truncation differs from torch's by " + diff);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"30x3x20", "20x3x30", "4x6x5", "25x8x25"})
    void productOfFactorsDecomposesAsTheFormedProduct(String shape) {
        String[] mrn = shape.split("x");
        int m = Integer.parseInt(mrn[0]);
        int r = Integer.parseInt(mrn[1]);
        int n = Integer.parseInt(mrn[2]);
        Matrix left = random(m, r, 21);
        Matrix right = random(r, n, 22);
        ThinSvd formed = ThinSvd.of(left.times(right));
        ThinSvd factored = ThinSvd.ofProduct(left, right);
        int k = Math.min(r, Math.min(m, n));
        assertEquals(k, factored.s().length);
        assertArrayEquals(java.util.Arrays.copyOf(formed.s(), k), factored.s(), 1e-12);
        for (int rank = 1; rank <= k; rank++) {
            double diff = factored.leadingUs(rank).times(factored.leadingVt(rank))
                    .maxAbsDifference(formed.leadingUs(rank).times(formed.leadingVt(rank)));
            assertTrue(diff < 1e-11, "rank-" + rank + " truncations differ by " + diff);
        }
        assertOrthonormalColumns(factored.u(), 1e-12);
        assertOrthonormalColumns(factored.vt().transposed(), 1e-12);
    }

    @Test
    void largeMatricesRotateInParallelWithTheSameResultOnOneThread() throws Exception {
        Matrix m = random(260, 256, 31); // above the size from which rounds run on the fork-join pool
        ThinSvd pooled = ThinSvd.of(m);
        java.util.concurrent.ForkJoinPool oneThread = new java.util.concurrent.ForkJoinPool(1);
        try {
            ThinSvd alone = oneThread.submit(() -> ThinSvd.of(m)).get();
            assertArrayEquals(pooled.s(), alone.s(), 0, "pairs of a round share no column: order-free");
            assertArrayEquals(pooled.u().values(), alone.u().values(), 0);
            assertArrayEquals(pooled.vt().values(), alone.vt().values(), 0);
        } finally {
            oneThread.shutdown();
        }
        assertTrue(pooled.leadingUs(256).times(pooled.vt()).maxAbsDifference(m) < 1e-11, "U S V^T reconstructs M");
        assertOrthonormalColumns(pooled.u(), 1e-12);
    }

    @Test
    void nonFiniteEntriesAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ThinSvd.of(new Matrix(1, 2, new double[]{1, Double.NaN})));
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
    }

    static Matrix random(int rows, int cols, long seed) {
        Random r = new Random(seed);
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian();
        }
        return new Matrix(rows, cols, v);
    }

    private static void assertOrthonormalColumns(Matrix q, double tolerance) {
        Matrix gram = q.transposed().times(q);
        for (int i = 0; i < gram.rows(); i++) {
            for (int j = 0; j < gram.cols(); j++) {
                assertEquals(i == j ? 1 : 0, gram.get(i, j), tolerance, "Q^T Q at " + i + "," + j);
            }
        }
    }

    private static double[] row(Matrix m, int i) {
        double[] out = new double[m.cols()];
        System.arraycopy(m.values(), i * m.cols(), out, 0, m.cols());
        return out;
    }

    private static Matrix scaleColumns(Matrix u, double[] s, int r) {
        Matrix out = Matrix.zeros(u.rows(), r);
        for (int i = 0; i < u.rows(); i++) {
            for (int j = 0; j < r; j++) {
                out.values()[i * r + j] = u.get(i, j) * s[j];
            }
        }
        return out;
    }

    private static Matrix firstRows(Matrix m, int r) {
        return new Matrix(r, m.cols(), java.util.Arrays.copyOf(m.values(), r * m.cols()));
    }
}
