package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Sums and means, over everything or over one dimension, dot products along one dimension of a matrix, and the
 * argmax of a matrix's rows.
 */
public final class Reductions {
    private Reductions() {
    }

    /**
     * Sum of all elements: any shape -> [1]. Backward broadcasts dOut to x's shape.
     *
     * @param x the tensor
     * @return the sum, a one-element tensor
     */
    public static Tensor sum(Tensor x) {
        Tensor out = Tensor.zeros(x.device(), Shape.of(1));
        x.backend().reductions().sumTo(x, out);
        return Autograd.record("sum", out, d -> new Tensor[]{expand(d.reshape(ones(x.rank())), x.shape())}, x);
    }

    /**
     * Mean of all elements: any shape -> [1].
     *
     * @param x the tensor
     * @return the mean, a one-element tensor
     */
    public static Tensor mean(Tensor x) {
        return Elementwise.scale(sum(x), 1f / x.numel());
    }

    /**
     * Sum over dimension {@code dim}: (..., D, ...) -> (..., 1, ...) when keepDim, else the dimension is dropped.
     *
     * @param x the tensor
     * @param dim the dimension to sum; negative counts from the end
     * @param keepDim whether to keep it with size 1
     * @return the sums
     */
    public static Tensor sum(Tensor x, int dim, boolean keepDim) {
        int d = x.shape().normalize(dim);
        int[] kept = x.shape().dims();
        kept[d] = 1;
        Tensor result = Tensor.zeros(x.device(), Shape.of(kept));
        x.backend().reductions().sumTo(x, result);
        if (!keepDim) {
            result = result.reshape(drop(kept, d));
        }
        Shape in = x.shape();
        return Autograd.record("sumDim", result, g -> new Tensor[]{expand(g.reshape(kept), in)}, x);
    }

    /**
     * The dot products of two matrices along dimension {@code dim}: (rows, cols) x (rows, cols) -> (rows) for
     * {@code dim} 1 (each row of x with the same row of y), (cols) for {@code dim} 0. The products are rounded to
     * float32 and summed in double ({@code ReductionKernels.dots}), with no (rows, cols) temporary. Backward:
     * dx = y dOut and dy = x dOut, dOut broadcast along {@code dim}.
     *
     * @param x a matrix of a floating dtype
     * @param y a matrix of the same shape
     * @param dim the dimension summed over, 0 or 1 (or -1, -2)
     * @return the sums, float32
     * @throws IllegalArgumentException when x and y are not matrices of one shape
     */
    public static Tensor dot(Tensor x, Tensor y, int dim) {
        if (x.rank() != 2) {
            throw new IllegalArgumentException("dot takes matrices, got " + x.shape());
        }
        Ops.sameDevice(x, y);
        int d = x.shape().normalize(dim);
        Tensor out = Tensor.empty(x.device(), Shape.of(x.dim(1 - d))); // every sum is written
        x.backend().reductions().dots(x, y, d, out);
        int[] kept = x.shape().dims();
        kept[d] = 1;
        return Autograd.record("dot", out, g -> {
            Tensor column = g.reshape(kept);
            return new Tensor[]{x.requiresGrad() ? Elementwise.mul(y.detach(), column) : null,
                    y.requiresGrad() ? Elementwise.mul(x.detach(), column) : null};
        }, x, y);
    }

    /**
     * The column of each row's largest value, the first of equal ones ({@code ReductionKernels.argmax}: NaN never
     * wins, a row that starts with NaN gives 0), computed on x's device: greedy decoding reads these (rows) indices
     * back instead of the (rows, cols) logits. Not differentiable.
     *
     * @param x a (rows, cols) matrix of a floating dtype, cols >= 1
     * @return the columns, I64 (rows)
     * @throws IllegalArgumentException when x is not such a matrix
     */
    public static Tensor argmax(Tensor x) {
        if (x.rank() != 2 || x.dim(1) < 1) {
            throw new IllegalArgumentException("argmax takes a matrix with at least one column, got " + x.shape());
        }
        Tensor rows = x.strides()[1] == 1 ? x.detach() : x.detach().contiguous();
        Tensor out = Tensor.empty(TensorScope.current(), x.device(), DType.I64, Shape.of(x.dim(0)));
        x.backend().reductions().argmax(rows, out);
        return out;
    }

    /**
     * Mean over dimension {@code dim}.
     *
     * @param x the tensor
     * @param dim the dimension to average; negative counts from the end
     * @param keepDim whether to keep it with size 1
     * @return the means
     */
    public static Tensor mean(Tensor x, int dim, boolean keepDim) {
        return Elementwise.scale(sum(x, dim, keepDim), 1f / x.dim(dim));
    }

    /**
     * Sums a broadcast gradient back to {@code shape} (the backward of broadcasting).
     *
     * @param g a gradient of the broadcast shape
     * @param shape the shape it was broadcast from
     * @return the gradient summed over the stretched dimensions, of {@code shape}
     */
    public static Tensor sumTo(Tensor g, Shape shape) {
        if (g.shape().equals(shape)) {
            return g;
        }
        int offset = g.rank() - shape.rank();
        int[] kept = new int[g.rank()];
        for (int i = 0; i < kept.length; i++) {
            kept[i] = i < offset ? 1 : shape.dim(i - offset);
        }
        Tensor out = Tensor.zeros(g.device(), Shape.of(kept));
        g.backend().reductions().sumTo(g, out);
        return out.view(shape, shape.contiguousStrides(), 0);
    }

    /** {@code g} (size 1 where {@code shape} is larger) broadcast to {@code shape}, as a contiguous tensor. */
    static Tensor expand(Tensor g, Shape shape) {
        Tensor out = Tensor.zeros(g.device(), shape);
        g.backend().copy().copy(g.detach().expand(shape), out);
        return out;
    }

    private static int[] ones(int rank) {
        int[] r = new int[rank];
        java.util.Arrays.fill(r, 1);
        return r;
    }

    private static int[] drop(int[] dims, int d) {
        int[] r = new int[dims.length - 1];
        for (int i = 0, j = 0; i < dims.length; i++) {
            if (i != d) {
                r[j++] = dims[i];
            }
        }
        return r;
    }
}
