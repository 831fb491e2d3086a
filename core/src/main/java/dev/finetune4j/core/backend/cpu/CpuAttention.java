package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.backend.AttentionKernels;
import dev.finetune4j.core.tensor.Tensor;

/** TODO(port): placeholder until the op family moves behind the backend; the op still runs its own loops. */
final class CpuAttention implements AttentionKernels {
    CpuAttention(GemmKernel gemm, MathKernels math) {
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out, Tensor logSumExp) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out, Tensor logSumExp, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        throw new UnsupportedOperationException("not ported yet");
    }
}
