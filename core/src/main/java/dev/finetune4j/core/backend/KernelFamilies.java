package dev.finetune4j.core.backend;

/**
 * One backend's implementation of every kernel family, made once when the backend starts;
 * {@link Backend#kernels()} hands it out and {@link Backend}'s family accessors read it.
 */
public record KernelFamilies(MatmulKernels matmul, CopyKernels copy, ElementwiseKernels elementwise,
                             ReductionKernels reductions, SoftmaxKernels softmax, NormKernels norms,
                             ActivationKernels activations, RotaryKernels rotary, AttentionKernels attention,
                             EmbeddingKernels embedding, CrossEntropyKernels crossEntropy, DropoutKernels dropout,
                             OptimizerKernels optimizer, QuantizationKernels quantization) {
}
