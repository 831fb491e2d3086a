package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.CopyKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

/** Copies between views with dtype conversion, and fills (copy.cu). */
final class CudaCopy implements CopyKernels {
    private final CudaRuntime rt;

    CudaCopy(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (!src.shape().equals(dst.shape())) {
            throw new IllegalArgumentException("copy from " + src.shape() + " into " + dst.shape());
        }
        requireElementwise(src);
        requireElementwise(dst);
        try (KernelArgs a = new KernelArgs()) {
            a.ptr(rt.base(src)).i32(src.dtype().ordinal()).view(src)
                    .ptr(rt.base(dst)).i32(dst.dtype().ordinal()).view(dst).i64(dst.numel());
            rt.kernels.launchOver("copy", "copy_view", dst.numel(), a);
        }
    }

    /** One launch for contiguous tensors of floating dtypes (an address table kept on the device), else one each. */
    @Override
    public void copy(List<Tensor> srcs, List<Tensor> dsts) {
        long[] table = new long[5 * srcs.size()];
        long total = 0;
        for (int k = 0; k < srcs.size(); k++) {
            Tensor src = srcs.get(k);
            Tensor dst = dsts.get(k);
            if (!src.shape().equals(dst.shape()) || !floating(src) || !floating(dst)) {
                CopyKernels.super.copy(srcs, dsts);
                return;
            }
            table[5 * k] = rt.address(src);
            table[5 * k + 1] = src.dtype().ordinal();
            table[5 * k + 2] = rt.address(dst);
            table[5 * k + 3] = dst.dtype().ordinal();
            table[5 * k + 4] = total;
            total += src.numel();
        }
        if (total == 0) {
            return;
        }
        try (KernelArgs a = new KernelArgs()) {
            a.ptr(rt.tables.of(table)).i32(srcs.size()).i64(total);
            rt.kernels.launchOver("copy", "copy_multi", total, a);
        }
    }

    /** A contiguous tensor of a floating dtype, which copy_multi reads or writes through its address alone. */
    private static boolean floating(Tensor t) {
        return t.isContiguous() && (t.dtype() == DType.F32 || t.dtype() == DType.BF16 || t.dtype() == DType.F16);
    }

    @Override
    public void fill(Tensor dst, float value) {
        requireElementwise(dst);
        try (KernelArgs a = new KernelArgs()) {
            a.ptr(rt.base(dst)).i32(dst.dtype().ordinal()).view(dst).f32(value).i64(dst.numel());
            rt.kernels.launchOver("copy", "fill_view", dst.numel(), a);
        }
    }

    /** One launch for contiguous F32 tensors (an address table kept on the device, DeviceTables), else one each. */
    @Override
    public void fill(List<Tensor> dsts, float value) {
        long[] table = new long[2 * dsts.size()];
        long total = 0;
        for (int k = 0; k < dsts.size(); k++) {
            Tensor t = dsts.get(k);
            if (t.dtype() != DType.F32 || !t.isContiguous()) {
                CopyKernels.super.fill(dsts, value);
                return;
            }
            table[2 * k] = rt.output(t);
            table[2 * k + 1] = total;
            total += t.numel();
        }
        if (total == 0) {
            return;
        }
        try (KernelArgs a = new KernelArgs()) {
            a.ptr(rt.tables.of(table)).i32(dsts.size()).f32(value).i64(total);
            rt.kernels.launchOver("copy", "fill_multi", total, a);
        }
    }

    /** Copies {@code src} (any view) into the contiguous buffer at {@code dst} holding {@code dstType} values. */
    static void copyView(CudaRuntime rt, Tensor src, long dst, DType dstType) {
        requireElementwise(src);
        long[] contiguous = new long[2 + 2 * KernelArgs.MAX_RANK];
        contiguous[0] = 1;
        contiguous[2] = src.numel();
        contiguous[2 + KernelArgs.MAX_RANK] = 1;
        try (KernelArgs a = new KernelArgs()) {
            a.ptr(rt.base(src)).i32(src.dtype().ordinal()).view(src)
                    .ptr(dst).i32(dstType.ordinal()).longs(contiguous).i64(src.numel());
            rt.kernels.launchOver("copy", "copy_view", src.numel(), a);
        }
    }

    private static void requireElementwise(Tensor t) {
        if (t.dtype() == DType.NF4) {
            throw new IllegalArgumentException("the CUDA copy kernel does not read or write packed NF4 (" + t
                    + "); dequantize it first");
        }
    }
}
