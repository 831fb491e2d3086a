package dev.finetune4j.core.backend;

/**
 * The primitive kernels a device implements. Ops in {@code dev.finetune4j.core.autograd} call a backend; layers
 * and models never do.
 *
 * <p>Built with the CUDA backend in mind: a backend owns its device, work may run asynchronously and
 * {@link #synchronize()} waits for it; storage may be bf16 with float32 accumulation. Today only the CPU
 * backend exists, and only the matrix product — where almost all of the time goes — is routed through this
 * interface; the remaining op families run their CPU loops inline and move behind it with the CUDA backend.
 */
public interface Backend {

    /** Human-readable device name, for logs. */
    String deviceName();

    /** Waits until all work queued on this backend has finished (a no-op on the synchronous CPU backend). */
    void synchronize();

    /**
     * {@code c[m][n] (+)= sum_k a[m][k] * b[k][n]} in float32, row-major.
     *
     * @param a           {@code (m, k)}, or {@code (k, m)} when {@code transposeA}
     * @param b           {@code (k, n)}, or {@code (n, k)} when {@code transposeB}
     * @param c           {@code (m, n)}; overwritten unless {@code accumulate}
     */
    void gemm(float[] a, int aOffset, boolean transposeA, float[] b, int bOffset, boolean transposeB,
              float[] c, int cOffset, int m, int n, int k, boolean accumulate);

    /** {@code op(b)} {@code (k, n)} laid out for repeated products; {@code b} may change afterwards. */
    PackedMatrix pack(float[] b, int bOffset, boolean transposeB, int k, int n);

    /** {@code c[m][n] (+)= op(a) b} with {@code b} from {@link #pack} (n and k are its own). */
    void gemm(float[] a, int aOffset, boolean transposeA, PackedMatrix b, float[] c, int cOffset, int m,
              boolean accumulate);
}
