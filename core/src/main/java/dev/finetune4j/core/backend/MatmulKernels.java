package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/**
 * Matrix products with float32 accumulation (inputs F32, BF16 or F16; output F32, or BF16 beside bf16 inputs),
 * strided-batched.
 */
public interface MatmulKernels {

    /**
     * {@code c = alpha op(a) op(b) (+ c when accumulate)}, per batch.
     *
     * <p>{@code c}: (..., M, N) contiguous; its leading dimensions are the batch. {@code a}: (..., M, K), or
     * (..., K, M) when {@code transposeA}; {@code b}: (..., K, N), or (..., N, K) when {@code transposeB}. Each
     * of {@code a} and {@code b} either has the batch dimensions of {@code c} or is a plain matrix (rank 2)
     * shared by every batch. {@code a} and {@code b} are contiguous; {@code c} aliases neither. An NF4 {@code b}
     * (a shared weight matrix) is dequantized a block of rows at a time, and each block rounded to bf16 when
     * {@code a} is bf16, so that the product is that of the weight's bf16 values.
     *
     * <p>{@code c} is F32, or BF16 when {@code a} is BF16 and {@code b} BF16 or NF4: then each element is computed in
     * float32 (the product, plus {@code c}'s bf16 value when accumulating) and rounded to bf16 once, as cuBLAS does
     * with a bf16 output, so a product whose result is rounded to bf16 anyway writes half the bytes and needs no
     * float32 buffer.
     *
     * @param a the left operand
     * @param transposeA whether {@code a} is stored transposed
     * @param b the right operand
     * @param transposeB whether {@code b} is stored transposed
     * @param c receives the product
     * @param alpha the product's factor
     * @param accumulate whether to add to {@code c} instead of overwriting it
     */
    void gemm(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c, float alpha, boolean accumulate);
}
