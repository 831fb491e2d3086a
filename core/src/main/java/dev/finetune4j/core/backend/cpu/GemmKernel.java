package dev.finetune4j.core.backend.cpu;


/**
 * A float32 matrix product {@code c (+)= op(a) op(b)} over row-major arrays, where {@code op} transposes when
 * asked. Implementations are stateless and
 * thread-safe.
 */
interface GemmKernel {
    String name();

    /**
     * @param a {@code (m, k)} row-major, or {@code (k, m)} when {@code transposeA}
     * @param b {@code (k, n)} row-major, or {@code (n, k)} when {@code transposeB}
     * @param c {@code (m, n)} row-major; overwritten unless {@code accumulate}
     */
    void gemm(float[] a, int aOff, boolean transposeA, float[] b, int bOff, boolean transposeB,
              float[] c, int cOff, int m, int n, int k, boolean accumulate);

    /**
     * The same product with {@code b} read from storage and converted to float32 as it is packed: equal bit for bit
     * to {@link #gemm(float[], int, boolean, float[], int, boolean, float[], int, int, int, int, boolean)} on the
     * converted values, without a float32 copy of all of {@code b}.
     */
    void gemm(float[] a, int aOff, boolean transposeA, StoredMatrix b, boolean transposeB,
              float[] c, int cOff, int m, int n, int k, boolean accumulate);

    /** op(b) {@code (k, n)} laid out once for {@link #gemm(float[], int, boolean, PackedMatrix, float[], int, int, boolean)}. */
    PackedMatrix pack(float[] b, int bOff, boolean transposeB, int k, int n);

    /** {@code c (+)= op(a) b} with {@code b} from {@link #pack}; n and k are the packed operand's. */
    void gemm(float[] a, int aOff, boolean transposeA, PackedMatrix b, float[] c, int cOff, int m, boolean accumulate);
}
