package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.EmbeddingKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

/** Row gather and scatter-add (embedding.cu); the table is read in its own dtype and layout. */
final class CudaEmbedding implements EmbeddingKernels {
    private final CudaRuntime rt;

    CudaEmbedding(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void gather(Tensor weight, Tensor ids, Tensor out) {
        requireIds(ids);
        long n = ids.numel(), c = weight.dim(1);
        try (KernelArgs k = new KernelArgs()) {
            k.ptr(rt.base(weight)).i32(weight.dtype().ordinal()).view(weight).ptr(rt.address(ids))
                    .ptr(rt.output(out)).i64(n).i64(c);
            rt.kernels.launchOver("embedding", "gather", n * c, k);
        }
    }

    @Override
    public void scatterAdd(Tensor dOut, Tensor ids, Tensor dWeight) {
        requireIds(ids);
        if (dWeight.dtype() != DType.F32 || !dWeight.isContiguous()) {
            throw new IllegalArgumentException("scatterAdd accumulates into a contiguous F32 gradient, got " + dWeight);
        }
        long n = ids.numel(), c = dWeight.dim(1);
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            k.ptr(s.f32(dOut)).ptr(rt.address(ids)).ptr(rt.address(dWeight)).i64(n).i64(c);
            rt.kernels.launchOver("embedding", "scatter_add", n * c, k);
        }
    }

    private static void requireIds(Tensor ids) {
        if (ids.dtype() != DType.I64 || !ids.isContiguous()) {
            throw new IllegalArgumentException("embedding ids must be a contiguous I64 tensor, got " + ids);
        }
    }
}
