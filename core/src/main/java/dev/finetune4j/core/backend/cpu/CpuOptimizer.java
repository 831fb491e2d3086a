package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.AdamWStep;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.backend.SgdStep;
import dev.finetune4j.core.tensor.Tensor;

/** TODO(port): placeholder until the op family moves behind the backend; the op still runs its own loops. */
final class CpuOptimizer implements OptimizerKernels {
    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void sgd(Tensor param, Tensor grad, Tensor momentumBuffer, SgdStep step) {
        throw new UnsupportedOperationException("not ported yet");
    }
}
