package dev.finetune4j.peft.mix;

import java.util.Arrays;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;

/**
 * The thin singular value decomposition {@code M = U diag(S) V^T} of an (m, n) matrix in float64, by one-sided
 * Jacobi rotations (Hestenes 1958; Demmel and Veselic 1992): the columns of the narrower side are rotated pairwise
 * until all are orthogonal; their norms are the singular values. Every singular value is accurate to about eps times
 * the largest, where an eigen-decomposition of the Gram matrix {@code M^T M} loses all below sqrt(eps) times it.
 *
 * <p>Shapes: {@code u}: (m, k), {@code s}: (k), {@code vt}: (k, n) with k = min(m, n); singular values descend. A
 * singular vector pair is fixed only up to a common sign (and within a repeated singular value, up to a rotation);
 * this class makes the entry of largest magnitude of each right singular vector positive. torch.linalg.svd (LAPACK)
 * makes no such promise, so compare products such as {@code U diag(S) V^T} or {@code U[:, :r] diag(S[:r])}
 * {@code V^T[:r, :]} with another library, never the factors. Singular values that are rounding noise (below
 * eps * max(m, n) times the largest) get a zero column in U: their direction is undetermined, they change no product,
 * and completing a basis for the many of them in a low-rank delta would cost more than the decomposition.
 *
 * <p>Cost: O(m n^2) per sweep on an (m, n) matrix with m &gt;= n, usually 6 to 10 sweeps, spread over the common
 * fork-join pool for large matrices; a 4096 x 4096 delta takes minutes. Thread safety: nothing is modified after {@link #of} returns.
 *
 * @param u  the left singular vectors as columns, (m, k)
 * @param s  the singular values, descending, (k)
 * @param vt the right singular vectors as rows, (k, n)
 */
public record ThinSvd(Matrix u, double[] s, Matrix vt) {
    private static final double EPS = 0x1p-52;
    private static final int MAX_SWEEPS = 64;
    /** Below this many entries a sweep's rounds run on the calling thread: forking would cost more than it saves. */
    private static final long PARALLEL_ENTRIES = 1 << 16;

    /**
     * Decomposes {@code m}.
     *
     * @param m the matrix, finite
     * @return its thin SVD
     * @throws IllegalArgumentException when an entry is NaN or infinite
     * @throws ArithmeticException when the rotations do not converge (not seen on finite input)
     */
    public static ThinSvd of(Matrix m) {
        for (double v : m.values()) {
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("cannot decompose a matrix holding " + v + ": the adapters' "
                        + "weights or mixing weights are not finite");
            }
        }
        if (m.rows() >= m.cols()) {
            return tallOrSquare(m);
        }
        // M^T = U' S V'^T, so M = V' S U'^T
        ThinSvd t = tallOrSquare(m.transposed());
        return canonicalSigns(new ThinSvd(t.vt.transposed(), t.s, t.u.transposed()));
    }

    /**
     * The thin SVD of the product {@code left @ right} ((m, R) x (R, n)) without forming it, exact in exact
     * arithmetic and O((m + n) R^2) rather than O(m n^2): with left = U1 S1 V1^T and S1 V1^T right = U2 S2 V2^T,
     * the product is (U1 U2) S2 V2^T. A sum of LoRA deltas sum_i w_i s_i B_i A_i is such a product (the factors
     * stacked along the rank), so its SVD costs as much as the adapters' sizes, not the base model's.
     *
     * <p>Shapes: {@code u}: (m, k), {@code s}: (k), {@code vt}: (k, n) with k = min(m, R, n); signs as {@link #of}.
     *
     * @param left  the left factor, (m, R), finite
     * @param right the right factor, (R, n), finite
     * @return the thin SVD of their product
     * @throws IllegalArgumentException when the inner sizes differ or an entry is not finite
     */
    public static ThinSvd ofProduct(Matrix left, Matrix right) {
        if (left.cols() != right.rows()) {
            throw new IllegalArgumentException("cannot multiply " + left.rows() + " x " + left.cols() + " by "
                    + right.rows() + " x " + right.cols());
        }
        ThinSvd l = of(left);
        Matrix core = l.vt.times(right); // V1^T right, then its rows scaled by S1: (k1, n)
        for (int i = 0; i < core.rows(); i++) {
            for (int j = 0; j < core.cols(); j++) {
                core.values()[i * core.cols() + j] *= l.s[i];
            }
        }
        ThinSvd c = of(core);
        return new ThinSvd(l.u.times(c.u), c.s, c.vt);
    }

    /**
     * {@code U[:, :rank] diag(S[:rank])}, the B factor of a rank-{@code rank} LoRA (fewer columns when k &lt; rank).
     *
     * @param rank the number of leading singular values kept
     * @return the (m, min(rank, k)) product
     */
    public Matrix leadingUs(int rank) {
        int k = Math.min(rank, s.length);
        Matrix out = Matrix.zeros(u.rows(), k);
        for (int i = 0; i < u.rows(); i++) {
            for (int j = 0; j < k; j++) {
                out.values()[i * k + j] = u.get(i, j) * s[j];
            }
        }
        return out;
    }

    /**
     * {@code V^T[:rank, :]}, the A factor of a rank-{@code rank} LoRA (fewer rows when k &lt; rank).
     *
     * @param rank the number of leading singular values kept
     * @return the (min(rank, k), n) rows
     */
    public Matrix leadingVt(int rank) {
        int k = Math.min(rank, s.length);
        return new Matrix(k, vt.cols(), Arrays.copyOf(vt.values(), k * vt.cols()));
    }

    /** m.rows() >= m.cols(): rotate the columns of M (kept column-major for speed) and accumulate V. */
    private static ThinSvd tallOrSquare(Matrix m) {
        int rows = m.rows();
        int n = m.cols();
        double[][] w = new double[n][rows];
        double[][] v = new double[n][n];
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < rows; i++) {
                w[j][i] = m.get(i, j);
            }
            v[j][j] = 1;
        }
        rotateUntilOrthogonal(w, v);
        double[] norms = new double[n];
        for (int j = 0; j < n; j++) {
            norms[j] = Math.sqrt(dot(w[j], w[j]));
        }
        Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(j -> -norms[j])); // stable: equal values keep column order
        double largest = n == 0 ? 0 : norms[order[0]];
        // below this, a column's direction is rounding noise: its column of U stays zero
        double negligible = largest * EPS * Math.max(rows, n);
        Matrix u = Matrix.zeros(rows, n);
        Matrix vt = Matrix.zeros(n, n);
        double[] s = new double[n];
        for (int k = 0; k < n; k++) {
            int j = order[k];
            s[k] = norms[j];
            for (int i = 0; norms[j] > negligible && i < rows; i++) {
                u.values()[i * n + k] = w[j][i] / norms[j];
            }
            for (int i = 0; i < n; i++) {
                vt.values()[k * n + i] = v[j][i];
            }
        }
        return canonicalSigns(new ThinSvd(u, s, vt));
    }

    /**
     * Hestenes' sweeps until no column pair is further from orthogonal than rounding. Each sweep visits every pair
     * once in round-robin order (Brent and Luk 1985): the n / 2 pairs of a round share no column, so they rotate in
     * parallel, and the result does not depend on the number of threads.
     */
    private static void rotateUntilOrthogonal(double[][] w, double[][] v) {
        int n = w.length;
        if (n < 2) {
            return; // one column is orthogonal to itself
        }
        double total = 0;
        for (double[] column : w) {
            total += dot(column, column);
        }
        // NOTE: a column whose squared norm is below eps^2 ||M||_F^2 is rounding noise; rotating such columns against
        // each other never settles (low-rank deltas have many), and leaving them changes no product beyond rounding
        double noise = total * EPS * EPS;
        double[] squaredNorms = new double[n];
        int players = n + (n & 1); // an odd count gets a bye: the pairs with index n are skipped
        boolean parallel = (long) n * w[0].length >= PARALLEL_ENTRIES;
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            for (int j = 0; j < n; j++) {
                squaredNorms[j] = dot(w[j], w[j]); // fresh each sweep, so the updates below never drift far
            }
            AtomicBoolean rotated = new AtomicBoolean();
            for (int round = 0; round < players - 1; round++) {
                int r = round;
                IntStream pairs = IntStream.range(0, players / 2);
                (parallel ? pairs.parallel() : pairs).forEach(i -> {
                    int x = i == 0 ? 0 : (i - 1 + r) % (players - 1) + 1;
                    int y = (players - 2 - i + r) % (players - 1) + 1;
                    if (x < n && y < n && orthogonalize(w, v, squaredNorms, Math.min(x, y), Math.max(x, y), noise)) {
                        rotated.set(true);
                    }
                });
            }
            if (!rotated.get()) {
                return;
            }
        }
        throw new ArithmeticException("one-sided Jacobi SVD did not converge in " + MAX_SWEEPS + " sweeps");
    }

    /** Rotates columns p and q (and the same columns of V) to be orthogonal; false when they already are. */
    private static boolean orthogonalize(double[][] w, double[][] v, double[] squaredNorms, int p, int q, double noise) {
        double alpha = squaredNorms[p];
        double beta = squaredNorms[q];
        if (alpha <= noise || beta <= noise) {
            return false;
        }
        double gamma = dot(w[p], w[q]);
        if (gamma == 0 || Math.abs(gamma) <= EPS * Math.sqrt(alpha * beta)) {
            return false;
        }
        // the rotation that zeroes the (p, q) entry of the 2 x 2 Gram block [[alpha, gamma], [gamma, beta]]
        double zeta = (beta - alpha) / (2 * gamma);
        double t = zeta == 0 ? 1 : Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        double c = 1 / Math.sqrt(1 + t * t);
        rotate(w[p], w[q], c, c * t);
        rotate(v[p], v[q], c, c * t);
        // the rotated columns' squared norms, without two more passes over them
        squaredNorms[p] = alpha - t * gamma;
        squaredNorms[q] = beta + t * gamma;
        return true;
    }

    private static void rotate(double[] x, double[] y, double c, double s) {
        for (int i = 0; i < x.length; i++) {
            double a = x[i];
            double b = y[i];
            x[i] = c * a - s * b;
            y[i] = s * a + c * b;
        }
    }

    /** Flips each singular pair so that the largest-magnitude entry of its right vector is positive. */
    private static ThinSvd canonicalSigns(ThinSvd d) {
        int k = d.s.length;
        int n = d.vt.cols();
        for (int r = 0; r < k; r++) {
            int largest = 0;
            for (int i = 1; i < n; i++) {
                if (Math.abs(d.vt.get(r, i)) > Math.abs(d.vt.get(r, largest))) {
                    largest = i;
                }
            }
            if (d.vt.get(r, largest) < 0) {
                for (int i = 0; i < n; i++) {
                    d.vt.values()[r * n + i] = -d.vt.values()[r * n + i];
                }
                for (int i = 0; i < d.u.rows(); i++) {
                    d.u.values()[i * k + r] = -d.u.values()[i * k + r];
                }
            }
        }
        return d;
    }

    private static double dot(double[] x, double[] y) {
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            sum += x[i] * y[i];
        }
        return sum;
    }
}
