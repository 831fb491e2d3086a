package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.tensor.Tensor;

/** Linear attention's kernels on CUDA: not written yet (refused until recurrent.cu lands). */
final class CudaRecurrent implements RecurrentKernels {
    CudaRecurrent(CudaRuntime rt) {
    }

    private static UnsupportedOperationException notYet() {
        return new UnsupportedOperationException("linear attention (Qwen3.5's gated DeltaNet) has no CUDA kernels yet: "
                + "run the model on the CPU");
    }

    @Override
    public void causalConv1dSilu(Tensor x, Tensor past, Tensor weight, Tensor y) {
        throw notYet();
    }

    @Override
    public void causalConv1dSiluBackward(Tensor x, Tensor past, Tensor weight, Tensor dy, Tensor dx, Tensor dWeight) {
        throw notYet();
    }

    @Override
    public void gatedDeltaRule(Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta, Tensor state, Tensor o,
                               Tensor checkpoints) {
        throw notYet();
    }

    @Override
    public void gatedDeltaRuleBackward(Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta, Tensor checkpoints,
                                       Tensor dO, Tensor dq, Tensor dk, Tensor dv, Tensor dg, Tensor dBeta) {
        throw notYet();
    }
}
