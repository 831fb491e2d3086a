package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.cpu.CpuBackend;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Moves tensor data between native storage and the heap arrays the CPU loops work on. A bulk copy in and out
 * of each op keeps the loops plain and lets the JIT vectorize them.
 */
final class Buffers {
    private Buffers() {
    }

    static Backend backend() {
        return CpuBackend.instance();
    }

    /** The values of {@code t} in row-major order, as float32. */
    static float[] floats(Tensor t) {
        return t.toFloatArray();
    }

    /** A new float32 tensor in the current scope holding {@code values}. */
    static Tensor tensor(float[] values, Shape shape) {
        Tensor t = Tensor.zeros(TensorScope.current(), DType.F32, shape);
        MemorySegment.copy(values, 0, t.storage(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, values.length);
        return t;
    }

    static Tensor tensor(float[] values, int... dims) {
        return tensor(values, Shape.of(dims));
    }
}
