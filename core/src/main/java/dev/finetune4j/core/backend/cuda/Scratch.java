package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Temporary device buffers of one kernel call, given back to the allocator on close. The work that uses them is
 * queued on the one stream before any later work that could reuse the blocks, so closing needs no wait.
 */
final class Scratch implements AutoCloseable {
    private final CudaRuntime rt;
    private final List<long[]> blocks = new ArrayList<>();

    Scratch(CudaRuntime rt) {
        this.rt = rt;
    }

    /** An uninitialised buffer of {@code bytes}. */
    long buffer(long bytes) {
        long pointer = rt.allocator.allocate(Math.max(1, bytes));
        blocks.add(new long[]{pointer, Math.max(1, bytes)});
        return pointer;
    }

    /** The address of {@code t} as contiguous F32 values: {@code t} itself when it is, else a converted copy. */
    long f32(Tensor t) {
        return contiguous(t, DType.F32, Float.BYTES);
    }

    /**
     * The address of {@code t} as contiguous values of {@code type} starting at a multiple of {@code alignment}
     * bytes (for a kernel's vector loads): {@code t} itself when it is, else a converted copy (the allocator's
     * blocks are 512-byte aligned).
     */
    long contiguous(Tensor t, DType type, int alignment) {
        if (t.dtype() == type && t.isContiguous() && rt.address(t) % alignment == 0) {
            return rt.address(t);
        }
        long copy = buffer(t.numel() * type.byteSize());
        CudaCopy.copyView(rt, t, copy, type);
        return copy;
    }

    /**
     * Adds {@code t} to {@code args} as a kernel reads it through common.cuh's {@code load_f}: its address and dtype
     * when it is contiguous in a floating dtype (bf16 activations are read where they are), else the address of a
     * float32 copy and F32.
     */
    void floats(KernelArgs args, Tensor t) {
        boolean readable = t.isContiguous() && (t.dtype() == DType.F32 || t.dtype() == DType.BF16
                || t.dtype() == DType.F16);
        args.ptr(readable ? rt.address(t) : f32(t)).i32((readable ? t.dtype() : DType.F32).ordinal());
    }

    /** {@link #f32} of an optional tensor: 0 for null. */
    long f32OrNull(Tensor t) {
        return t == null ? 0 : f32(t);
    }

    @Override
    public void close() {
        blocks.forEach(b -> rt.allocator.release(b[0], b[1]));
        blocks.clear();
    }
}
