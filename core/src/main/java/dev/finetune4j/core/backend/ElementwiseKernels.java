package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/** Pointwise arithmetic. Broadcasting is expressed by the caller as stride-0 views ({@link Tensor#expand}). */
public interface ElementwiseKernels {

    /** Binary operators. */
    enum BinaryOp {
        /** a + b. */
        ADD,
        /** a - b. */
        SUB,
        /** a * b. */
        MUL,
        /** a / b. */
        DIV
    }

    /** Unary functions. */
    enum UnaryOp {
        /** e^x. */
        EXP,
        /** The natural logarithm. */
        LOG,
        /** The square root. */
        SQRT,
        /** 1 where x > 0, else 0 (NaN gives 0): the step that counts, e.g., positive margins. */
        POSITIVE
    }

    /**
     * {@code out = a op b}: {@code a}, {@code b} and {@code out} have the same shape; {@code a} and {@code b} any
     * layout; {@code out} contiguous and may be {@code a} or {@code b} itself (in place).
     *
     * @param op the operator
     * @param a the left operand
     * @param b the right operand
     * @param out receives the result
     */
    void binary(BinaryOp op, Tensor a, Tensor b, Tensor out);

    /**
     * {@code out = f(x)}, same shape; {@code out} contiguous and may be {@code x} itself.
     *
     * @param op the function
     * @param x the argument
     * @param out receives the result
     */
    void unary(UnaryOp op, Tensor x, Tensor out);

    /**
     * {@code out = x * scale + shift}, same shape; {@code out} contiguous and may be {@code x} itself.
     *
     * @param x the input
     * @param scale the factor
     * @param shift the offset
     * @param out receives the result
     */
    void affine(Tensor x, float scale, float shift, Tensor out);
}
