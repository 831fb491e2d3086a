package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

/** Sums, accumulated in double on the CPU (float32 on devices that say so in their docs), and the argmax of rows. */
public interface ReductionKernels {

    /**
     * Sums {@code x} onto the shape of {@code out} (the backward of broadcasting and of a sum over dimensions):
     * {@code out} has {@code x}'s rank, each of its dimensions equal to {@code x}'s or 1, and element
     * {@code out[i]} is the sum of the elements of {@code x} that broadcasting {@code out} would map onto it.
     * A one-element {@code out} (any rank) holds the sum of everything. {@code x} any layout.
     *
     * @param x the tensor to sum
     * @param out receives the sums
     */
    void sumTo(Tensor x, Tensor out);

    /**
     * The L2 norm of all of {@code x} (summed in double, rounded once to float32) into the one-element
     * {@code out}: the per-tensor term of global gradient-norm clipping.
     *
     * @param x the tensor
     * @param out receives the norm
     */
    void norm(Tensor x, Tensor out);

    /**
     * The dot products of {@code x} and {@code y} along one dimension of a matrix: {@code dim} 1 gives
     * {@code out[r] = sum over c of x[r][c] y[r][c]}, {@code dim} 0 gives {@code out[c] = sum over r}. Each product is
     * rounded to float32, the sums are accumulated in double and rounded once to float32 (in any order: the double
     * sum hides it). DoRA's row norms and magnitude gradient, without a (rows, cols) temporary.
     *
     * @param x a (rows, cols) tensor of a floating dtype, any layout
     * @param y a tensor of the same shape, of a floating dtype, any layout
     * @param dim the dimension summed over, 0 or 1
     * @param out receives the sums: contiguous F32, (rows) for {@code dim} 1, (cols) for {@code dim} 0
     */
    void dots(Tensor x, Tensor y, int dim, Tensor out);

    /**
     * Checks the operands of {@link #dots}, for its implementations.
     *
     * @param x the first matrix
     * @param y the second
     * @param dim the dimension summed over
     * @param out the sums
     * @throws IllegalArgumentException naming what does not fit
     */
    static void requireDots(Tensor x, Tensor y, int dim, Tensor out) {
        if (x.rank() != 2 || !x.shape().equals(y.shape()) || dim < 0 || dim > 1
                || out.numel() != x.dim(1 - dim)) {
            throw new IllegalArgumentException("dots over dimension " + dim + " take two matrices of one shape and "
                    + "one sum per " + (dim == 1 ? "row" : "column") + ", got x " + x.shape() + ", y " + y.shape()
                    + ", out " + out.shape());
        }
    }

    /**
     * The column of each row's largest value, the first of equal ones, into {@code out[r]}: what a scan from column 0
     * that moves on only to a larger value finds ({@code LogitsProcessing.argmax}), so NaN never wins and a row that
     * starts with NaN gives 0. Greedy decoding reads these instead of the logits.
     *
     * @param x a (rows, cols) tensor of a floating dtype whose columns are adjacent (rows at any stride), cols >= 1
     * @param out receives the columns: contiguous I64 of (rows)
     */
    void argmax(Tensor x, Tensor out);

    /**
     * Checks the operands of {@link #argmax}, for its implementations.
     *
     * @param x the matrix
     * @param out the columns
     * @throws IllegalArgumentException naming what does not fit
     */
    static void requireArgmax(Tensor x, Tensor out) {
        if (x.rank() != 2 || x.dim(1) < 1 || !x.dtype().isFloatingPoint() || x.strides()[1] != 1
                || out.dtype() != DType.I64 || !out.isContiguous() || out.numel() != x.dim(0)) {
            throw new IllegalArgumentException("argmax takes a (rows, cols) floating matrix with adjacent columns and "
                    + "one I64 per row, got x " + x + ", out " + out);
        }
    }

    /**
     * {@link #norm} of each tensor into {@code out[k]}: an adapter's hundreds of small tensors (gradient clipping,
     * the finite-weight check), which a backend may measure in one kernel instead of one or two per tensor.
     *
     * @param tensors contiguous F32 tensors
     * @param out receives the norms, contiguous F32 of {@code tensors.size()} elements
     */
    default void norms(List<Tensor> tensors, Tensor out) {
        for (int k = 0; k < tensors.size(); k++) {
            norm(tensors.get(k), out.slice(0, k, k + 1));
        }
    }
}
