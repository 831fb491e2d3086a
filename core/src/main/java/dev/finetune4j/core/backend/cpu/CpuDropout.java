package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.DropoutKernels;
import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.tensor.Tensor;

/** TODO(port): placeholder until the op family moves behind the backend; the op still runs its own loops. */
final class CpuDropout implements DropoutKernels {
    @Override
    public void apply(Tensor x, float p, DropoutKey key, Tensor out) {
        throw new UnsupportedOperationException("not ported yet");
    }
}
