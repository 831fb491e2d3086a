package dev.finetune4j.core.backend;

/**
 * One backend's implementation of every kernel family, made once when the backend starts;
 * {@link Backend#kernels()} hands it out and {@link Backend}'s family accessors read it.
 *
 * @param matmul matrix products
 * @param copy copies, conversions and fills
 * @param elementwise elementwise arithmetic
 * @param reductions sums and norms
 * @param softmax softmax and log-softmax
 * @param norms RMSNorm and LayerNorm
 * @param activations activation functions and SwiGLU
 * @param rotary rotary position embedding
 * @param attention scaled dot-product attention
 * @param embedding embedding lookup and its scatter-add backward
 * @param crossEntropy per-token log-probabilities
 * @param dropout dropout masks
 * @param optimizer AdamW and SGD updates
 * @param quantization NF4 quantization and dequantization
 * @param recurrent linear attention's convolution and gated delta rule
 */
public record KernelFamilies(MatmulKernels matmul, CopyKernels copy, ElementwiseKernels elementwise,
                             ReductionKernels reductions, SoftmaxKernels softmax, NormKernels norms,
                             ActivationKernels activations, RotaryKernels rotary, AttentionKernels attention,
                             EmbeddingKernels embedding, CrossEntropyKernels crossEntropy, DropoutKernels dropout,
                             OptimizerKernels optimizer, QuantizationKernels quantization,
                             RecurrentKernels recurrent) {
}
