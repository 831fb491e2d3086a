package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.PackedMatrix;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pure-Java backend: multi-threaded over the common fork-join pool, with Vector API kernels when the
 * {@code jdk.incubator.vector} module is present (JVM flag {@code --add-modules jdk.incubator.vector}) and
 * scalar kernels with the same results (within float rounding) otherwise. Thread-safe and stateless.
 */
public final class CpuBackend implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(CpuBackend.class);
    private static final CpuBackend INSTANCE = new CpuBackend(VectorSupport.isAvailable());

    private final GemmKernel gemm;
    private final MathKernels math;

    CpuBackend(boolean useVectorApi) {
        this.gemm = useVectorApi ? VectorSupport.newVectorGemm() : new ScalarGemm();
        this.math = useVectorApi ? VectorSupport.newVectorMath() : new ScalarMath();
    }

    /** The shared instance; uses the Vector API when the JVM has it. */
    public static CpuBackend instance() {
        return INSTANCE;
    }

    /** An instance with the scalar kernels only (the oracle in conformance tests). */
    public static CpuBackend scalar() {
        return new CpuBackend(false);
    }

    static {
        LOG.debug("CPU backend: {} threads, Vector API {}", Runtime.getRuntime().availableProcessors(),
                VectorSupport.isAvailable() ? "on" : "off (add --add-modules jdk.incubator.vector for speed)");
    }

    /** The exponential-based row kernels (softmax, cross-entropy, SiLU), vectorized like the gemm. */
    public MathKernels math() {
        return math;
    }

    @Override
    public String deviceName() {
        return "cpu (" + gemm.name() + ")";
    }

    @Override
    public void synchronize() {
        // Synchronous: every call has finished when it returns.
    }

    @Override
    public void gemm(float[] a, int aOffset, boolean transposeA, float[] b, int bOffset, boolean transposeB,
                     float[] c, int cOffset, int m, int n, int k, boolean accumulate) {
        gemm.gemm(a, aOffset, transposeA, b, bOffset, transposeB, c, cOffset, m, n, k, accumulate);
    }

    @Override
    public PackedMatrix pack(float[] b, int bOffset, boolean transposeB, int k, int n) {
        return gemm.pack(b, bOffset, transposeB, k, n);
    }

    @Override
    public void gemm(float[] a, int aOffset, boolean transposeA, PackedMatrix b, float[] c, int cOffset, int m,
                     boolean accumulate) {
        gemm.gemm(a, aOffset, transposeA, b, c, cOffset, m, accumulate);
    }
}
