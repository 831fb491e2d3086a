package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.SoftmaxKernels;
import dev.finetune4j.core.tensor.Tensor;

/** TODO(port): placeholder until the op family moves behind the backend; the op still runs its own loops. */
final class CpuSoftmax implements SoftmaxKernels {
    CpuSoftmax(MathKernels math) {
    }

    @Override
    public void softmax(Tensor x, Tensor y) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void softmaxBackward(Tensor y, Tensor dy, Tensor dx) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void logSoftmax(Tensor x, Tensor y) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void logSoftmaxBackward(Tensor y, Tensor dy, Tensor dx) {
        throw new UnsupportedOperationException("not ported yet");
    }
}
