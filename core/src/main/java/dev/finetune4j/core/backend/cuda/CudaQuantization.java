package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.QuantizationKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Nf4Format;
import dev.finetune4j.core.tensor.Tensor;

/** NF4 quantization and dequantization on the device (quantization.cu). */
final class CudaQuantization implements QuantizationKernels {
    private final CudaRuntime rt;

    CudaQuantization(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void quantizeNf4(Tensor src, Tensor dst) {
        checkNf4(dst);
        if (!src.dtype().isFloatingPoint() || !src.isContiguous() || src.numel() != dst.numel()) {
            throw new IllegalArgumentException("NF4 quantizes a contiguous F32, BF16 or F16 tensor of " + dst.numel()
                    + " values, got " + src);
        }
        long n = src.numel();
        long blocks = Nf4Format.blocks(n);
        if (n == 0) {
            return;
        }
        try (Scratch s = rt.scratch(); KernelArgs maxima = new KernelArgs(); KernelArgs mean = new KernelArgs();
             KernelArgs scales = new KernelArgs(); KernelArgs codes = new KernelArgs()) {
            long absmax = s.buffer(blocks * Float.BYTES);
            long q = rt.address(dst);
            maxima.ptr(rt.base(src)).i32(src.dtype().ordinal()).i64(src.offset()).i64(n).ptr(absmax);
            rt.kernels.launchOver("quantization", "nf4_absmax", blocks, maxima);
            mean.ptr(absmax).i64(blocks).ptr(q);
            rt.kernels.launch("quantization", "nf4_mean", 1, 0, mean);
            scales.ptr(absmax).i64(n).ptr(q);
            rt.kernels.launchOver("quantization", "nf4_scales", Nf4Format.groups(n), scales);
            codes.ptr(rt.base(src)).i32(src.dtype().ordinal()).i64(src.offset()).i64(n).ptr(q);
            rt.kernels.launchOver("quantization", "nf4_codes", (n + 1) / 2, codes);
        }
    }

    @Override
    public void dequantizeNf4(Tensor src, long first, Tensor dst) {
        checkNf4(src);
        if (dst.dtype() != DType.F32 || !dst.isContiguous()) {
            throw new IllegalArgumentException("NF4 dequantizes into a contiguous F32 tensor, got " + dst);
        }
        dequantize(rt, src, first, dst.numel(), rt.address(dst), DType.F32);
    }

    /**
     * Writes values {@code [first, first + count)} of the NF4 tensor {@code src} as {@code outType} (F32 or BF16) at
     * device address {@code out}.
     */
    static void dequantize(CudaRuntime rt, Tensor src, long first, long count, long out, DType outType) {
        if (first < 0 || first + count > src.numel()) {
            throw new IndexOutOfBoundsException("values [" + first + ", " + (first + count) + ") of " + src);
        }
        try (KernelArgs k = new KernelArgs()) {
            k.ptr(rt.address(src)).i64(src.numel()).i64(first).i64(count).ptr(out).i32(outType.ordinal());
            rt.kernels.launchOver("quantization", "nf4_dequantize", count, k);
        }
    }

    private static void checkNf4(Tensor t) {
        if (t.dtype() != DType.NF4 || t.offset() != 0 || !t.isContiguous()) {
            throw new IllegalArgumentException("expected a whole NF4 tensor, got " + t);
        }
    }
}
