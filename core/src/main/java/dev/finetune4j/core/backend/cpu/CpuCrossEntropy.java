package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.CrossEntropyKernels;
import dev.finetune4j.core.tensor.Tensor;

/** TODO(port): placeholder until the op family moves behind the backend; the op still runs its own loops. */
final class CpuCrossEntropy implements CrossEntropyKernels {
    CpuCrossEntropy(MathKernels math) {
    }

    @Override
    public void tokenLogProbs(Tensor logits, Tensor labels, int ignoreIndex, Tensor logProbs, Tensor logSumExp) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void tokenLogProbsBackward(Tensor logits, Tensor labels, int ignoreIndex, Tensor logSumExp, Tensor dLogProbs, Tensor dLogits) {
        throw new UnsupportedOperationException("not ported yet");
    }
}
