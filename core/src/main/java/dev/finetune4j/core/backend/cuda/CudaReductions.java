package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.ReductionKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

/**
 * Sums (reductions.cu): onto a broadcast shape in float32 in the CPU's order; of everything and the L2 norm in
 * double over partial sums of up to {@link #PARTIALS} blocks.
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
        long rows = x.dim(0);
        long cols = x.dim(1);
        try (KernelArgs k = new KernelArgs()) {
            for (Tensor t : new Tensor[]{x, y}) {
                k.ptr(rt.base(t)).i32(t.dtype().ordinal()).i64(t.offset()).i64(t.strides()[0]).i64(t.strides()[1]);
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
