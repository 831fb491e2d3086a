package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.RotaryKernels;
import dev.finetune4j.core.tensor.Tensor;

/** Rotate-half rotary embedding (rotary.cu). */
final class CudaRotary implements RotaryKernels {
    private final CudaRuntime rt;

    CudaRotary(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void rotate(Tensor x, Tensor cos, Tensor sin, boolean inverse, Tensor y) {
        if (x.rank() != 4) {
            throw new IllegalArgumentException("rotary: x must be (B, H, T, D), got " + x.shape());
        }
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            k.ptr(s.f32(x)).ptr(s.f32(cos)).ptr(s.f32(sin)).f32(inverse ? -1f : 1f).ptr(rt.output(y))
                    .i64(x.dim(0)).i64(x.dim(1)).i64(x.dim(2)).i64(x.dim(3));
            rt.kernels.launchOver("rotary", "rotate", x.numel() / 2, k);
        }
    }
}
