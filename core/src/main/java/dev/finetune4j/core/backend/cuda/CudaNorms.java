package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.NormKernels;
import dev.finetune4j.core.tensor.Tensor;

/**
 * RMSNorm and LayerNorm over the last dimension (norms.cu): one block per row, statistics in double; the weight is
 * read in its own dtype (no float32 copy of a bf16 model's norm weights per call).
 */
final class CudaNorms implements NormKernels {
    private final CudaRuntime rt;

    CudaNorms(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void rmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd) {
        long c = x.dim(x.rank() - 1);
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            k.ptr(s.f32(x));
            s.floats(k, w);
            k.f32(eps).ptr(rt.floatOutput(y)).i32(y.dtype().ordinal()).ptr(rt.output(rstd)).i64(c);
            rt.kernels.launch("norms", "rms_norm_forward", x.numel() / c, 0, k);
        }
    }

    @Override
    public void rmsNormBackward(Tensor dy, Tensor x, Tensor w, Tensor rstd, Tensor dx, boolean accumulate,
                                Tensor dw) {
        long c = x.dim(x.rank() - 1);
        long rows = x.numel() / c;
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            long dyp = s.f32(dy), xp = s.f32(x), rp = s.f32(rstd);
            k.ptr(dyp).ptr(xp);
            s.floats(k, w);
            k.ptr(rp).ptr(rt.output(dx)).i32(accumulate ? 1 : 0).i64(c);
            rt.kernels.launch("norms", "rms_norm_backward", rows, 0, k);
            if (dw != null) {
                paramGrads(dyp, xp, 0, rp, rt.output(dw), 0, rows, c);
            }
        }
    }

    @Override
    public void layerNorm(Tensor x, Tensor w, Tensor b, float eps, Tensor y, Tensor mean, Tensor rstd) {
        long c = x.dim(x.rank() - 1);
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            k.ptr(s.f32(x));
            s.floats(k, w);
            k.ptr(s.f32OrNull(b)).f32(eps).ptr(rt.output(y)).ptr(rt.output(mean)).ptr(rt.output(rstd)).i64(c);
            rt.kernels.launch("norms", "layer_norm_forward", x.numel() / c, 0, k);
        }
    }

    @Override
    public void layerNormBackward(Tensor dy, Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dx,
                                  boolean accumulate, Tensor dw, Tensor db) {
        long c = x.dim(x.rank() - 1);
        long rows = x.numel() / c;
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            long dyp = s.f32(dy), xp = s.f32(x), mp = s.f32(mean), rp = s.f32(rstd);
            k.ptr(dyp).ptr(xp);
            s.floats(k, w);
            k.ptr(mp).ptr(rp).ptr(rt.output(dx)).i32(accumulate ? 1 : 0).i64(c);
            rt.kernels.launch("norms", "layer_norm_backward", rows, 0, k);
            if (dw != null || db != null) {
                paramGrads(dyp, xp, mp, rp, rt.outputOrNull(dw), rt.outputOrNull(db), rows, c);
            }
        }
    }

    /** dw (and db) summed over rows: a block per 32 columns, its warps sharing the rows. */
    private void paramGrads(long dy, long x, long mean, long rstd, long dw, long db, long rows, long c) {
        try (KernelArgs k = new KernelArgs()) {
            k.ptr(dy).ptr(x).ptr(mean).ptr(rstd).ptr(dw).ptr(db).i64(rows).i64(c);
            rt.kernels.launch("norms", "norm_param_grads", (int) ((c + 31) / 32), 0, k);
        }
    }
}
