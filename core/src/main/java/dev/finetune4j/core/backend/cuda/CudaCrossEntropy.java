package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.CrossEntropyKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

/**
 * Label log-probabilities (cross_entropy.cu): one block per row walks the vocabulary, reading the logits in their
 * own dtype, so no float32 copy of a large (N, V) matrix is made.
 */
final class CudaCrossEntropy implements CrossEntropyKernels {
    private final CudaRuntime rt;

    CudaCrossEntropy(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void tokenLogProbs(Tensor logits, Tensor labels, int ignoreIndex, Tensor logProbs, Tensor rowMax,
                              Tensor invRowSum) {
        check(logits, labels);
        try (KernelArgs k = new KernelArgs()) {
            k.ptr(rt.address(logits)).i32(logits.dtype().ordinal()).ptr(rt.address(labels)).i32(ignoreIndex)
                    .ptr(rt.output(logProbs)).ptr(rt.output(rowMax)).ptr(rt.output(invRowSum)).i64(logits.dim(1));
            rt.kernels.launch("cross_entropy", "token_log_probs", logits.dim(0), 0, k);
        }
    }

    @Override
    public void tokenLogProbsBackward(Tensor logits, Tensor labels, int ignoreIndex, Tensor rowMax, Tensor invRowSum,
                                      Tensor dLogProbs, Tensor dLogits) {
        check(logits, labels);
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            k.ptr(rt.address(logits)).i32(logits.dtype().ordinal()).ptr(rt.address(labels)).i32(ignoreIndex)
                    .ptr(s.f32(rowMax)).ptr(s.f32(invRowSum)).ptr(s.f32(dLogProbs)).ptr(rt.floatOutput(dLogits))
                    .i32(dLogits.dtype().ordinal()).i64(logits.dim(1));
            rt.kernels.launch("cross_entropy", "token_log_probs_backward", logits.dim(0), 0, k);
        }
    }

    private static void check(Tensor logits, Tensor labels) {
        if (logits.rank() != 2 || !logits.isContiguous() || !logits.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("cross-entropy logits must be a contiguous (N, V) float tensor, got " + logits);
        }
        if (labels.dtype() != DType.I32 || !labels.isContiguous() || labels.numel() != logits.dim(0)) {
            throw new IllegalArgumentException("cross-entropy labels must be a contiguous I32 (N) tensor for "
                    + logits.shape() + ", got " + labels);
        }
    }
}
