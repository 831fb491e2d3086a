package dev.finetune4j.peft.mix;

import java.util.Arrays;

/**
 * A dense float64 matrix on the heap, row-major: the arithmetic of adapter mixing works on LoRA factors
 * ({@code lora_A}: (r, in), {@code lora_B}: (out, r)) and on their products (out, in), which are small next to a
 * model, so plain arrays in double precision keep the rounding of the combination below float32's. As for any record
 * holding an array, {@code equals} compares the array's identity: compare values with {@link #maxAbsDifference}.
 *
 * @param rows   the number of rows
 * @param cols   the number of columns
 * @param values rows * cols entries, row-major; taken as is (not copied)
 */
public record Matrix(int rows, int cols, double[] values) {
    /**
     * The largest matrix mixing builds: 2^28 entries (2 GiB of doubles), above a 70B model's largest delta
     * (28672 x 8192).
     */
    public static final long MAX_ENTRIES = 1L << 28;

    /** Checks the sizes against the values. */
    public Matrix {
        if (rows < 0 || cols < 0 || (long) rows * cols != values.length) {
            throw new IllegalArgumentException("a " + rows + " x " + cols + " matrix cannot hold " + values.length + " values");
        }
    }

    /**
     * A matrix of zeros.
     *
     * @param rows the number of rows
     * @param cols the number of columns
     * @return the matrix
     * @throws IllegalArgumentException when rows * cols exceeds {@link #MAX_ENTRIES}
     */
    public static Matrix zeros(int rows, int cols) {
        return new Matrix(rows, cols, new double[checkedSize(rows, cols)]);
    }

    /**
     * rows * cols as an array length, refused above {@link #MAX_ENTRIES} before anything is allocated.
     *
     * @param rows the number of rows
     * @param cols the number of columns
     * @return the number of entries
     * @throws IllegalArgumentException when negative or above the limit
     */
    public static int checkedSize(long rows, long cols) {
        long n = rows * cols; // both are ints: the product of two ints cannot overflow a long
        if (rows < 0 || cols < 0 || n > MAX_ENTRIES) {
            throw new IllegalArgumentException("a " + rows + " x " + cols + " matrix (" + n + " entries) is beyond what "
                    + "adapter mixing builds (" + MAX_ENTRIES + " entries): these are not the sizes of a LoRA adapter's "
                    + "factors or delta; check the adapter files");
        }
        return (int) n;
    }

    /**
     * One entry.
     *
     * @param i the row
     * @param j the column
     * @return the entry at (i, j)
     */
    public double get(int i, int j) {
        return values[i * cols + j];
    }

    /**
     * The product {@code this @ other}: (m, k) x (k, n) -> (m, n).
     *
     * @param other the right factor
     * @return the product
     * @throws IllegalArgumentException when the inner sizes differ
     */
    public Matrix times(Matrix other) {
        if (cols != other.rows) {
            throw new IllegalArgumentException("cannot multiply " + rows + " x " + cols + " by " + other.rows + " x " + other.cols);
        }
        Matrix out = zeros(rows, other.cols);
        for (int i = 0; i < rows; i++) {
            int row = i * other.cols;
            for (int k = 0; k < cols; k++) {
                double a = values[i * cols + k];
                if (a != 0) {
                    int from = k * other.cols;
                    for (int j = 0; j < other.cols; j++) {
                        out.values[row + j] += a * other.values[from + j];
                    }
                }
            }
        }
        return out;
    }

    /**
     * The transpose: (m, n) -> (n, m).
     *
     * @return a new matrix
     */
    public Matrix transposed() {
        Matrix t = zeros(cols, rows);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t.values[j * rows + i] = values[i * cols + j];
            }
        }
        return t;
    }

    /**
     * Every entry multiplied by {@code factor}.
     *
     * @param factor the multiplier
     * @return a new matrix
     */
    public Matrix scaled(double factor) {
        double[] out = values.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] *= factor;
        }
        return new Matrix(rows, cols, out);
    }

    /**
     * This matrix with zero rows appended up to {@code newRows} (a LoRA A padded to a larger rank).
     *
     * @param newRows at least {@link #rows()}
     * @return the padded matrix
     */
    public Matrix padRows(int newRows) {
        return new Matrix(newRows, cols, Arrays.copyOf(values, checkedSize(newRows, cols)));
    }

    /**
     * This matrix with zero columns appended up to {@code newCols} (a LoRA B padded to a larger rank).
     *
     * @param newCols at least {@link #cols()}
     * @return the padded matrix
     */
    public Matrix padCols(int newCols) {
        Matrix out = zeros(rows, newCols);
        for (int i = 0; i < rows; i++) {
            System.arraycopy(values, i * cols, out.values, i * newCols, cols);
        }
        return out;
    }

    /**
     * The largest absolute difference to {@code other} of the same shape.
     *
     * @param other a matrix of the same shape
     * @return max |this - other|
     * @throws IllegalArgumentException when the shapes differ
     */
    public double maxAbsDifference(Matrix other) {
        if (rows != other.rows || cols != other.cols) {
            throw new IllegalArgumentException("shapes differ: " + rows + " x " + cols + " and " + other.rows + " x " + other.cols);
        }
        double worst = 0;
        for (int i = 0; i < values.length; i++) {
            worst = Math.max(worst, Math.abs(values[i] - other.values[i]));
        }
        return worst;
    }
}
