package dev.finetune4j.core.backend.cpu;

/**
 * The inner matrix product in "dot form": {@code c[i][j] (+)= dot(a row i, bt row j)} with both operands
 * row-major over k, so every dot product reads contiguous memory.
 */
interface GemmKernel {
    String name();

    /**
     * @param a  {@code (m, k)} row-major
     * @param bt {@code (n, k)} row-major (the transpose of the right operand)
     * @param c  {@code (m, n)} row-major
     */
    void multiplyRows(float[] a, int aOff, float[] bt, int btOff, float[] c, int cOff, int m, int n, int k, boolean accumulate);
}
