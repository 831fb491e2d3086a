package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.RotaryKernels;
import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

/** Rotary embedding, either layout (rotary.cu). */
final class CudaRotary implements RotaryKernels {
    private final CudaRuntime rt;

    CudaRotary(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void rotate(Tensor x, Tensor cos, Tensor sin, RotaryLayout layout, boolean inverse, Tensor y) {
        if (x.rank() != 4) {
            throw new IllegalArgumentException("rotary: x must be (B, H, T, D), got " + x.shape());
        }
        long half = cos.dim(2);
        if (2 * half > x.dim(3)) {
            throw new IllegalArgumentException("rotary: a table of " + half + " frequencies rotates " + 2 * half
                    + " dimensions, more than the heads' " + x.dim(3));
        }
        if (y.dtype() != DType.F32 && y.dtype() != DType.BF16) {
            throw new IllegalArgumentException("rotary writes F32 or BF16 values, got " + y);
        }
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            long stride = batchStride(cos);
            boolean inPlace = stride >= 0 && stride == batchStride(sin);
            long cosAddress = inPlace ? rt.address(cos) : s.f32(cos);
            long sinAddress = inPlace ? rt.address(sin) : s.f32(sin);
            k.ptr(rt.base(x)).i32(x.dtype().ordinal()).view(x).ptr(cosAddress).ptr(sinAddress)
                    .i64(inPlace ? stride : (long) cos.dim(1) * cos.dim(2)).f32(inverse ? -1f : 1f)
                    .ptr(rt.base(y)).i32(y.dtype().ordinal()).view(y)
                    .i64(x.dim(0)).i64(x.dim(1)).i64(x.dim(2)).i64(x.dim(3)).i64(half)
                    .i32(layout == RotaryLayout.INTERLEAVED ? 1 : 0);
            rt.kernels.launchOver("rotary", "rotate", x.numel() / x.dim(3) * (x.dim(3) - half), k);
        }
    }

    /**
     * The distance between batch rows of a (B, T, D/2) F32 table whose rows are each contiguous (0 for a view that
     * repeats one row: the model's table of consecutive positions), read where it is; -1 when it must be copied.
     */
    private static long batchStride(Tensor table) {
        long[] strides = table.strides();
        boolean rowsContiguous = strides[2] == 1 && strides[1] == table.dim(2);
        return table.dtype() == DType.F32 && rowsContiguous ? strides[0] : -1;
    }
}
