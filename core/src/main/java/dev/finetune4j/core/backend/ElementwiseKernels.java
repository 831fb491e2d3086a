package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/** Pointwise arithmetic. Broadcasting is expressed by the caller as stride-0 views ({@link Tensor#expand}). */
public interface ElementwiseKernels {

    /** Binary operators. */
    enum BinaryOp { ADD, SUB, MUL, DIV }

    /** Unary functions. */
    enum UnaryOp { EXP, LOG, SQRT }

    /**
     * {@code out = a op b}: {@code a}, {@code b} and {@code out} have the same shape; {@code a} and {@code b} any
     * layout; {@code out} contiguous and may be {@code a} or {@code b} itself (in place).
     */
    void binary(BinaryOp op, Tensor a, Tensor b, Tensor out);

    /** {@code out = f(x)}, same shape; {@code out} contiguous and may be {@code x} itself. */
    void unary(UnaryOp op, Tensor x, Tensor out);

    /** {@code out = x * scale + shift}, same shape; {@code out} contiguous and may be {@code x} itself. */
    void affine(Tensor x, float scale, float shift, Tensor out);
}
