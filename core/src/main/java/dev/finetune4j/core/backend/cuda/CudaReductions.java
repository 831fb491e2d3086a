package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.ReductionKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

/**
 * Sums (reductions.cu): onto a broadcast shape, in double by warps and blocks where a contiguous tensor's leading or
 * trailing dimensions are summed (a bias's or a scaling vector's gradient: the column sums of a matrix), else in
 * float32 in the CPU's order, one thread per output; of everything and the L2 norm in double over partial sums of up
 * to {@link #PARTIALS} blocks; dot products along a matrix dimension in double; the argmax of rows.
 */
final class CudaReductions implements ReductionKernels {
    private static final int PARTIALS = 1024;
    /** The largest tensor {@link #norms} sums with one block (a LoRA matrix of a 7B model: 16 x 18,944). */
    private static final long ONE_BLOCK_NORM_ELEMENTS = 1 << 20;

    private final CudaRuntime rt;

    CudaReductions(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void sumTo(Tensor x, Tensor out) {
        if (out.numel() == 1) {
            sumAll(x, out, false);
            return;
        }
        if (out.rank() != x.rank()) {
            throw new IllegalArgumentException("sumTo: " + x.shape() + " onto " + out.shape() + " (ranks differ)");
        }
        for (int d = 0; d < x.rank(); d++) {
            if (out.dim(d) != x.dim(d) && out.dim(d) != 1) {
                throw new IllegalArgumentException("sumTo: " + x.shape() + " onto " + out.shape() + " (dimension " + d + ")");
            }
        }
        if (x.isContiguous() && sumsAsMatrix(x, out)) {
            return;
        }
        try (KernelArgs k = new KernelArgs()) {
            k.ptr(rt.base(x)).i32(x.dtype().ordinal()).view(x).view(out).ptr(rt.output(out)).i64(out.numel())
                    .i64(x.numel() / out.numel());
            rt.kernels.launchOver("reductions", "sum_to", out.numel(), k);
        }
    }

    @Override
    public void norm(Tensor x, Tensor out) {
        sumAll(x, out, true);
    }

    /**
     * One block per tensor, one launch, when every tensor is contiguous F32 and small enough for one block to sum
     * quickly (an adapter's); else {@link #norm} per tensor.
     */
    @Override
    public void norms(List<Tensor> tensors, Tensor out) {
        long[] table = new long[2 * tensors.size()];
        for (int k = 0; k < tensors.size(); k++) {
            Tensor t = tensors.get(k);
            if (t.dtype() != DType.F32 || !t.isContiguous() || t.numel() > ONE_BLOCK_NORM_ELEMENTS) {
                ReductionKernels.super.norms(tensors, out);
                return;
            }
            table[2 * k] = rt.address(t);
            table[2 * k + 1] = t.numel();
        }
        if (tensors.isEmpty()) {
            return;
        }
        try (KernelArgs k = new KernelArgs()) {
            k.ptr(rt.tables.of(table)).ptr(rt.output(out));
            rt.kernels.launch("reductions", "norms", tensors.size(), 0, k);
        }
    }

    /** One warp per row ({@code dim} 1), or one block per 32 columns ({@code dim} 0); the operands read in place. */
    @Override
    public void dots(Tensor x, Tensor y, int dim, Tensor out) {
        ReductionKernels.requireDots(x, y, dim, out);
        long[] xs = x.strides();
        long[] ys = y.strides();
        matrixDots(x, xs[0], xs[1], y, ys[0], ys[1], x.dim(0), x.dim(1), dim, out);
    }

    /** One block per row, its threads across the columns; x read in place. */
    @Override
    public void argmax(Tensor x, Tensor out) {
        ReductionKernels.requireArgmax(x, out);
        try (KernelArgs k = new KernelArgs()) {
            // requireArgmax checked that out is contiguous I64
            k.ptr(rt.base(x)).i32(x.dtype().ordinal()).i64(x.offset()).i64(x.strides()[0]).i64(1).i64(x.dim(1))
                    .ptr(rt.address(out));
            rt.kernels.launch("reductions", "row_argmax", x.dim(0), 0, k);
        }
    }

    /**
     * A sum of a contiguous x onto its leading dimensions (the trailing ones summed) or onto its trailing ones, as
     * the row or column sums of x seen as a matrix: parallel over the summed dimension too, in double, where sum_to
     * gives each output one thread that walks its elements in float32. False for other shapes.
     */
    private boolean sumsAsMatrix(Tensor x, Tensor out) {
        long rows = 1;
        for (int split = 0; split <= x.rank(); split++) {
            boolean keepsLeading = true;
            boolean keepsTrailing = true;
            for (int d = 0; d < x.rank(); d++) {
                boolean kept = out.dim(d) == x.dim(d);
                boolean summed = out.dim(d) == 1;
                keepsLeading &= d < split ? kept : summed;
                keepsTrailing &= d < split ? summed : kept;
            }
            long cols = x.numel() / rows;
            if (keepsLeading || keepsTrailing) {
                matrixDots(x, cols, 1, null, 0, 0, rows, cols, keepsLeading ? 1 : 0, out);
                return true;
            }
            if (split < x.rank()) {
                rows *= x.dim(split);
            }
        }
        return false;
    }

    /** row_dots or column_dots of the (rows, cols) views of x and y (null: the sums of x) at these strides. */
    private void matrixDots(Tensor x, long xRow, long xCol, Tensor y, long yRow, long yCol, long rows, long cols,
                            int dim, Tensor out) {
        try (KernelArgs k = new KernelArgs()) {
            k.ptr(rt.base(x)).i32(x.dtype().ordinal()).i64(x.offset()).i64(xRow).i64(xCol);
            if (y == null) {
                k.ptr(0).i32(0).i64(0).i64(0).i64(0);
            } else {
                k.ptr(rt.base(y)).i32(y.dtype().ordinal()).i64(y.offset()).i64(yRow).i64(yCol);
            }
            k.i64(rows).i64(cols).ptr(rt.output(out));
            int warps = CudaKernels.BLOCK / 32;
            if (dim == 1) {
                rt.kernels.launch("reductions", "row_dots", (int) ((rows + warps - 1) / warps), 0, k);
            } else {
                rt.kernels.launch("reductions", "column_dots", (int) ((cols + 31) / 32), 0, k);
            }
        }
    }

    private void sumAll(Tensor x, Tensor out, boolean l2) {
        int blocks = (int) Math.min(PARTIALS, Math.max(1, (x.numel() + CudaKernels.BLOCK - 1) / CudaKernels.BLOCK));
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs(); KernelArgs f = new KernelArgs()) {
            long partials = s.buffer((long) blocks * Double.BYTES);
            k.ptr(rt.base(x)).i32(x.dtype().ordinal()).view(x).i64(x.numel()).i32(l2 ? 1 : 0).ptr(partials);
            rt.kernels.launch("reductions", "sum_partials", blocks, 0, k);
            f.ptr(partials).i32(blocks).i32(l2 ? 1 : 0).ptr(rt.output(out));
            rt.kernels.launch("reductions", "sum_finish", 1, 0, f);
        }
    }
}
