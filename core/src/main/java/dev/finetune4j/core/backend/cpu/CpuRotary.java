package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.RotaryKernels;
import dev.finetune4j.core.tensor.Tensor;

/** TODO(port): placeholder until the op family moves behind the backend; the op still runs its own loops. */
final class CpuRotary implements RotaryKernels {
    @Override
    public void rotate(Tensor x, Tensor cos, Tensor sin, boolean inverse, Tensor y) {
        throw new UnsupportedOperationException("not ported yet");
    }
}
