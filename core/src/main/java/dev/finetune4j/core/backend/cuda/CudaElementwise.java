package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.ElementwiseKernels;
import dev.finetune4j.core.tensor.Tensor;

/** Pointwise arithmetic over views (elementwise.cu); outputs contiguous F32, in place allowed. */
final class CudaElementwise implements ElementwiseKernels {
    private final CudaRuntime rt;

    CudaElementwise(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        try (KernelArgs k = new KernelArgs()) {
            k.i32(op.ordinal()).ptr(rt.base(a)).i32(a.dtype().ordinal()).view(a)
                    .ptr(rt.base(b)).i32(b.dtype().ordinal()).view(b).ptr(rt.output(out)).i64(out.numel());
            rt.kernels.launchOver("elementwise", "binary", out.numel(), k);
        }
    }

    @Override
    public void unary(UnaryOp op, Tensor x, Tensor out) {
        try (KernelArgs k = new KernelArgs()) {
            k.i32(op.ordinal()).ptr(rt.base(x)).i32(x.dtype().ordinal()).view(x).ptr(rt.output(out)).i64(out.numel());
            rt.kernels.launchOver("elementwise", "unary", out.numel(), k);
        }
    }

    @Override
    public void affine(Tensor x, float scale, float shift, Tensor out) {
        try (KernelArgs k = new KernelArgs()) {
            k.ptr(rt.base(x)).i32(x.dtype().ordinal()).view(x).f32(scale).f32(shift).ptr(rt.output(out))
                    .i64(out.numel());
            rt.kernels.launchOver("elementwise", "affine", out.numel(), k);
        }
    }
}
