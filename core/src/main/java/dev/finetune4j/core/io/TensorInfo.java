package dev.finetune4j.core.io;

import dev.finetune4j.core.tensor.DType;

import java.util.Arrays;

/**
 * One entry of a safetensors header. Sizes and offsets are {@code long}, so files and tensors over 2 GiB are
 * described exactly.
 *
 * @param name  tensor name
 * @param dtype element type
 * @param shape sizes per dimension (copied in and out)
 * @param begin first byte, relative to the end of the header
 * @param end   one past the last byte, relative to the end of the header
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
    /** Copies the shape. */
    public TensorInfo {
        shape = shape.clone();
    }

    /**
     * The sizes per dimension.
     *
     * @return a copy of the shape
     */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Number of elements (1 for a scalar).
     *
     * @return the product of the shape
     */
    public long numel() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * Bytes of data, {@code end - begin}.
     *
     * @return the size in bytes
     */
    public long byteSize() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * name.hashCode() + Arrays.hashCode(shape)) + Long.hashCode(begin);
    }

    @Override
    public String toString() {
        return name + ": " + dtype + Arrays.toString(shape) + " bytes [" + begin + ", " + end + ")";
    }
}
