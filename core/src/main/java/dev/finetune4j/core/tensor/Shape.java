package dev.finetune4j.core.tensor;

import java.util.Arrays;

/** An immutable tensor shape: sizes per dimension, outermost first. */
public final class Shape {
    private final int[] dims;
    private final long numel;

    private Shape(int[] dims) {
        long n = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException("negative size " + dims[i] + " at dimension " + i + " of " + Arrays.toString(dims));
            }
            if (dims[i] != 0 && n > Long.MAX_VALUE / dims[i]) {
                throw new ArithmeticException("shape " + Arrays.toString(dims) + " has more than Long.MAX_VALUE elements; "
                        + "check the sizes that made it");
            }
            n *= dims[i];
        }
        this.dims = dims;
        this.numel = n;
    }

    /**
     * A shape of the given sizes.
     *
     * @param dims the sizes, each {@code >= 0}
     * @return the shape
     */
    public static Shape of(int... dims) {
        return new Shape(dims.clone());
    }

    /**
     * Shape from a safetensors-style long array; each size must fit in an int.
     *
     * @param dims the sizes, each at most {@link Integer#MAX_VALUE}
     * @return the shape
     * @throws ArithmeticException when a size does not fit in an int
     */
    public static Shape of(long[] dims) {
        int[] d = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] != (int) dims[i]) {
                throw new ArithmeticException("size " + dims[i] + " at dimension " + i + " of " + Arrays.toString(dims)
                        + " does not fit in an int; a dimension holds at most " + Integer.MAX_VALUE + " elements");
            }
            d[i] = (int) dims[i];
        }
        return new Shape(d);
    }

    /**
     * The number of dimensions.
     *
     * @return the rank, 0 for a scalar
     */
    public int rank() {
        return dims.length;
    }

    /**
     * Size of dimension {@code i}; negative indices count from the end.
     *
     * @param i the dimension, in [-rank, rank)
     * @return its size
     */
    public int dim(int i) {
        return dims[normalize(i)];
    }

    /**
     * The number of elements.
     *
     * @return the product of the sizes
     */
    public long numel() {
        return numel;
    }

    /**
     * The sizes.
     *
     * @return a copy of the sizes
     */
    public int[] dims() {
        return dims.clone();
    }

    /**
     * Resolves a possibly negative dimension index against this rank.
     *
     * @param i the dimension, in [-rank, rank)
     * @return the index in [0, rank)
     */
    public int normalize(int i) {
        int r = i < 0 ? i + dims.length : i;
        if (r < 0 || r >= dims.length) {
            throw new IndexOutOfBoundsException("dimension " + i + " out of range for shape " + this);
        }
        return r;
    }

    /**
     * Row-major (contiguous) strides in elements.
     *
     * @return a new array of one stride per dimension
     */
    public long[] contiguousStrides() {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    /**
     * Product of the sizes of all but the last dimension (rows of a 2-D view).
     *
     * @return the product of the leading sizes, 1 for rank 0 or 1
     */
    public int rows() {
        return dims.length == 0 ? 1 : Math.toIntExact(numel / Math.max(1, dims[dims.length - 1]));
    }

    /**
     * Replaces dimension {@code i} by {@code size}.
     *
     * @param i the dimension; negative counts from the end
     * @param size the new size
     * @return a new shape
     */
    public Shape with(int i, int size) {
        int[] d = dims.clone();
        d[normalize(i)] = size;
        return new Shape(d);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
