package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Nf4Format;
import dev.finetune4j.core.tensor.Tensor;

/**
 * Block-wise 4-bit NormalFloat quantization ({@link Nf4Format}): how weights become {@code DType.NF4} tensors and how
 * products read them back a block of rows at a time.
 */
public interface QuantizationKernels {

    /**
     * Quantizes every value of {@code src} into {@code dst}: block maxima, their double quantization and the 4-bit codes.
     *
     * @param src a contiguous F32, BF16 or F16 tensor
     * @param dst an NF4 tensor with as many elements (its whole storage is written)
     */
    void quantizeNf4(Tensor src, Tensor dst);

    /**
     * Dequantizes the values {@code [first, first + dst.numel())} of {@code src}, in row-major order, to float32.
     *
     * @param src   an NF4 tensor
     * @param first the index of the first value to read
     * @param dst   a contiguous F32 tensor that receives the values
     */
    void dequantizeNf4(Tensor src, long first, Tensor dst);
}
