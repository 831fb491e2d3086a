package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.cpu.CpuBackend;
import dev.finetune4j.core.backend.cpu.MathKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.lang.foreign.MemorySegment;

/**
 * Moves tensor data between native storage and the heap arrays the CPU loops work on. A bulk copy in and out
 * of each op keeps the loops plain and lets the JIT vectorize them.
 */
final class Buffers {
    private Buffers() {
    }

    /** TODO(port): the array gemm of the CPU backend, for the ops that still loop over arrays. */
    static CpuBackend backend() {
        return CpuBackend.instance();
    }

    static MathKernels math() {
        return CpuBackend.instance().math();
    }

    /** The values of {@code t} in row-major order, as float32: a fresh copy the caller may change. */
    static float[] floats(Tensor t) {
        return t.toFloatArray();
    }

    /**
     * The values of {@code t} in row-major order, as float32, for reading only: the array an op result wraps
     * when {@code t} is all of it (no copy), a copy otherwise. The caller must not change it.
     */
    static float[] read(Tensor t) {
        MemorySegment storage = t.hostSegment();
        if (t.dtype() == DType.F32 && t.offset() == 0 && t.isContiguous() && storage.address() == 0
                && storage.heapBase().orElse(null) instanceof float[] array && array.length == t.numel()) {
            return array;
        }
        return t.toFloatArray();
    }

    /**
     * A float32 tensor of the current scope that takes ownership of {@code values} (the caller must not change
     * them afterwards). Op results are heap segments: wrapping the array the loop just filled costs neither a
     * native allocation (which zero-fills) nor a copy, and the scope still rejects use after close.
     */
    static Tensor tensor(float[] values, Shape shape) {
        return Tensor.wrap(TensorScope.current(), MemorySegment.ofArray(values), DType.F32, shape);
    }

    static Tensor tensor(float[] values, int... dims) {
        return tensor(values, Shape.of(dims));
    }
}
