package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Shape;

/** Index arithmetic for broadcasting a smaller shape over a larger one. */
final class Broadcast {
    private Broadcast() {
    }

    /**
     * For every element of {@code to} (row-major), the flat index of the element of {@code from} it reads;
     * null when the shapes are equal (identity).
     */
    static int[] indexMap(Shape from, Shape to) {
        if (from.equals(to)) {
            return null;
        }
        int rank = to.rank();
        int offset = rank - from.rank();
        long[] fromStrides = from.contiguousStrides();
        long[] strides = new long[rank];
        for (int i = 0; i < rank; i++) {
            int fi = i - offset;
            strides[i] = fi < 0 || from.dim(fi) == 1 ? 0 : fromStrides[fi];
        }
        int n = Math.toIntExact(to.numel());
        int[] map = new int[n];
        int[] idx = new int[rank];
        long cur = 0;
        for (int i = 0; i < n; i++) {
            map[i] = (int) cur;
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                cur += strides[d];
                if (idx[d] < to.dim(d)) {
                    break;
                }
                cur -= strides[d] * idx[d];
                idx[d] = 0;
            }
        }
        return map;
    }
}
