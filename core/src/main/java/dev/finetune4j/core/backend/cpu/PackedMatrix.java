package dev.finetune4j.core.backend.cpu;

/**
 * The right operand {@code op(b)} {@code (k, n)} of matrix products, laid out once by {@link GemmKernel#pack} for
 * many {@link GemmKernel#gemm(float[], int, boolean, PackedMatrix, float[], int, int, boolean)} calls: a frozen
 * weight is then not re-packed at every forward and backward. Immutable; only the backend that made it can use it.
 */
interface PackedMatrix {

    /** The inner dimension. */
    int k();

    /** The columns of the product. */
    int n();

    /** The floats this layout holds (padding included), for memory accounting. */
    long floats();
}
