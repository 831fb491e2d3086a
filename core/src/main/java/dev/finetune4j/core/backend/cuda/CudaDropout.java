package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.DropoutKernels;
import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.tensor.Tensor;

/** Inverted dropout with the Philox mask of {@link dev.finetune4j.core.backend.Philox} (dropout.cu). */
final class CudaDropout implements DropoutKernels {
    private final CudaRuntime rt;

    CudaDropout(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void apply(Tensor x, float p, DropoutKey key, Tensor out) {
        try (KernelArgs k = new KernelArgs()) {
            k.ptr(rt.base(x)).i32(x.dtype().ordinal()).view(x).f32(p).i64(key.seed()).i64(key.step())
                    .i64(key.site()).ptr(rt.output(out)).i64(out.numel());
            rt.kernels.launchOver("dropout", "dropout", out.numel(), k);
        }
    }
}
