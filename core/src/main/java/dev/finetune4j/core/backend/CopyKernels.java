package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

/** Copies between views, dtype conversions and fills. */
public interface CopyKernels {

    /**
     * {@code dst = src} element by element: same shape, any layouts of both (a stride of 0 broadcasts), any
     * dtypes (floats round to nearest-even; equal dtypes copy bits). {@code dst} may be a view into a larger
     * tensor (a slice of a KV cache, a part of a concatenation); it does not overlap {@code src}.
     *
     * @param src the values to copy
     * @param dst receives them
     */
    void copy(Tensor src, Tensor dst);

    /**
     * {@link #copy} of each pair: a training step's float32 master weights rounded to bf16 at once, which a backend
     * may do in one kernel instead of one per tensor. The lists hold one entry per pair, in the same order.
     *
     * @param srcs the values to copy
     * @param dsts receive them
     */
    default void copy(List<Tensor> srcs, List<Tensor> dsts) {
        for (int k = 0; k < srcs.size(); k++) {
            copy(srcs.get(k), dsts.get(k));
        }
    }

    /**
     * Sets every element of {@code dst} (any layout) to {@code value}.
     *
     * @param dst the tensor to fill
     * @param value the value, converted to {@code dst}'s dtype
     */
    void fill(Tensor dst, float value);

    /**
     * {@link #fill} of each tensor: an adapter's gradients zeroed for the next step, which a backend may do in one
     * kernel instead of one per tensor.
     *
     * @param dsts the tensors to fill
     * @param value the value
     */
    default void fill(List<Tensor> dsts, float value) {
        for (Tensor dst : dsts) {
            fill(dst, value);
        }
    }
}
