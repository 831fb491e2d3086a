package dev.finetune4j.core.backend.cpu;

/**
 * The exponential-based row kernels of softmax, log-softmax, cross-entropy and SiLU. Two implementations give
 * the same results within float rounding: {@link ScalarMath} ({@code Math.exp}, the oracle) and a Vector API
 * one. Sums are accumulated in double, as the scalar loops always did. Implementations are stateless and
 * thread-safe, and each returns the same bits for the same input whatever the JIT has compiled (training runs
 * and resumed runs must agree bit for bit).
 */
interface MathKernels {

    /** The largest of {@code a[off .. off+n)}, NaN if one is NaN, -infinity when {@code n == 0}. */
    float max(float[] a, int off, int n);

    /**
     * {@code a[i] = exp(a[i] - shift)} in place over {@code [off, off+n)}; returns the sum of the new values.
     * Entries of -infinity become exactly 0.
     */
    double expInPlace(float[] a, int off, int n, float shift);

    /** The sum of {@code exp(a[i] - shift)} over {@code [off, off+n)}; {@code a} is left unchanged. */
    double sumExp(float[] a, int off, int n, float shift);

    /** {@code out[i] = 1 / (1 + exp(-x[i]))} for {@code i} in {@code [from, to)}. */
    void sigmoid(float[] x, float[] out, int from, int to);
}
