package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.CopyKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeCodec;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Copies between views, conversions and fills on the CPU. */
final class CpuCopy implements CopyKernels {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (!src.shape().equals(dst.shape())) {
            throw new IllegalArgumentException("copy from " + src.shape() + " into " + dst.shape());
        }
        copyValues(src, dst);
        CpuTensors.written(dst);
    }

    private static void copyValues(Tensor src, Tensor dst) {
        MemorySegment t = CpuTensors.segment(dst);
        if (src.dtype() == DType.NF4 || dst.dtype() == DType.NF4) {
            copyNf4(src, dst, t);
            return;
        }
        if (src.dtype() == DType.F32 && dst.dtype() == DType.F32) {
            if (dst.isContiguous()) {
                CpuTensors.copyF32(src, dst);
            } else {
                float[] values = CpuTensors.read(src);
                long[] to = CpuTensors.elementOffsets(dst);
                for (int i = 0; i < to.length; i++) {
                    t.setAtIndex(F, to[i], values[i]);
                }
            }
            return;
        }
        MemorySegment s = CpuTensors.segment(src);
        if (src.isContiguous() && dst.isContiguous()) {
            contiguous(src, s, dst, t);
            return;
        }
        if (src.dtype() != dst.dtype() && (src.dtype().isFloatingPoint() || dst.dtype().isFloatingPoint())) {
            // through float32: the source gathered in one pass over its strides (a mixed-precision step converts
            // permuted bf16 views this way many times), then written in dst's order
            float[] values = CpuTensors.read(src);
            if (dst.isContiguous()) {
                for (int i = 0; i < values.length; i++) {
                    DTypeCodec.writeFloat(t, dst.dtype(), dst.offset() + i, values[i]);
                }
            } else {
                long[] to = CpuTensors.elementOffsets(dst);
                for (int i = 0; i < to.length; i++) {
                    DTypeCodec.writeFloat(t, dst.dtype(), to[i], values[i]);
                }
            }
            return;
        }
        long[] from = CpuTensors.elementOffsets(src);
        long[] to = CpuTensors.elementOffsets(dst);
        if (src.dtype() == dst.dtype()) {
            // NOTE: not through float32, which would round I64/I32 values above 2^24.
            long size = src.dtype().byteSize();
            for (int i = 0; i < from.length; i++) {
                MemorySegment.copy(s, ValueLayout.JAVA_BYTE, from[i] * size, t, ValueLayout.JAVA_BYTE, to[i] * size, size);
            }
        } else {
            for (int i = 0; i < from.length; i++) {
                DTypeCodec.writeLong(t, dst.dtype(), to[i], DTypeCodec.readLong(s, src.dtype(), from[i]));
            }
        }
    }

    /** An NF4 tensor's bytes (codes and scales) into another: NF4 tensors are whole, never views of a part. */
    private static void copyNf4(Tensor src, Tensor dst, MemorySegment t) {
        if (src.dtype() != dst.dtype() || src.offset() != 0 || dst.offset() != 0 || !src.isContiguous()
                || !dst.isContiguous()) {
            throw new IllegalArgumentException("an NF4 tensor is copied whole into an NF4 tensor; convert with "
                    + "Tensor.convertTo (" + src + " -> " + dst + ")");
        }
        MemorySegment.copy(CpuTensors.segment(src), 0, t, 0, DType.NF4.bytesFor(src.numel()));
    }

    /** Both contiguous: equal dtypes copy bytes at once, others convert element by element without offset tables. */
    private static void contiguous(Tensor src, MemorySegment s, Tensor dst, MemorySegment t) {
        long n = src.numel();
        if (src.dtype() == dst.dtype()) {
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, src.dtype().bytesFor(src.offset()), t, ValueLayout.JAVA_BYTE,
                    dst.dtype().bytesFor(dst.offset()), src.dtype().bytesFor(n));
        } else if (!src.dtype().isFloatingPoint() && !dst.dtype().isFloatingPoint()) {
            for (long i = 0; i < n; i++) {
                DTypeCodec.writeLong(t, dst.dtype(), dst.offset() + i, DTypeCodec.readLong(s, src.dtype(), src.offset() + i));
            }
        } else {
            for (long i = 0; i < n; i++) {
                DTypeCodec.writeFloat(t, dst.dtype(), dst.offset() + i, DTypeCodec.readFloat(s, src.dtype(), src.offset() + i));
            }
        }
    }

    @Override
    public void fill(Tensor dst, float value) {
        MemorySegment t = CpuTensors.segment(dst);
        if (dst.isContiguous()) {
            // NOTE: no table of offsets (8 bytes per element): zeroGrad fills whole gradients every step
            for (long at = dst.offset(), end = at + dst.numel(); at < end; at++) {
                DTypeCodec.writeFloat(t, dst.dtype(), at, value);
            }
        } else {
            for (long at : CpuTensors.elementOffsets(dst)) {
                DTypeCodec.writeFloat(t, dst.dtype(), at, value);
            }
        }
        CpuTensors.written(dst);
    }
}
