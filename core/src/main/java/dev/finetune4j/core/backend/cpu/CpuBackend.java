package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.ActivationKernels;
import dev.finetune4j.core.backend.AttentionKernels;
import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.CopyKernels;
import dev.finetune4j.core.backend.CrossEntropyKernels;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DropoutKernels;
import dev.finetune4j.core.backend.ElementwiseKernels;
import dev.finetune4j.core.backend.EmbeddingKernels;
import dev.finetune4j.core.backend.MatmulKernels;
import dev.finetune4j.core.backend.MemoryCounter;
import dev.finetune4j.core.backend.MemoryStats;
import dev.finetune4j.core.backend.NormKernels;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.backend.ReductionKernels;
import dev.finetune4j.core.backend.RotaryKernels;
import dev.finetune4j.core.backend.SoftmaxKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Storage;
import dev.finetune4j.core.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;

/**
 * Pure-Java backend: multi-threaded over the common fork-join pool, with Vector API kernels when the
 * {@code jdk.incubator.vector} module is present (JVM flag {@code --add-modules jdk.incubator.vector}) and
 * scalar kernels with the same results (within float rounding) otherwise. Synchronous: every call has finished
 * when it returns. A step's activations are Java arrays (reclaimed by the collector once their scope closed);
 * long-lived tensors are native memory freed with their scope. Thread-safe.
 */
public final class CpuBackend implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(CpuBackend.class);
    private static final CpuBackend INSTANCE = new CpuBackend(VectorSupport.isAvailable());

    private final GemmKernel gemm;
    private final MathKernels math;
    private final MemoryCounter memory = new MemoryCounter();
    private final MatmulKernels matmul;
    private final CopyKernels copy = new CpuCopy();
    private final ElementwiseKernels elementwise = new CpuElementwise();
    private final ReductionKernels reductions = new CpuReductions();
    private final SoftmaxKernels softmax;
    private final NormKernels norms = new CpuNorms();
    private final ActivationKernels activations;
    private final RotaryKernels rotary = new CpuRotary();
    private final AttentionKernels attention;
    private final EmbeddingKernels embedding = new CpuEmbedding();
    private final CrossEntropyKernels crossEntropy;
    private final DropoutKernels dropout = new CpuDropout();
    private final OptimizerKernels optimizer = new CpuOptimizer();

    CpuBackend(boolean useVectorApi) {
        this.gemm = useVectorApi ? VectorSupport.newVectorGemm() : new ScalarGemm();
        this.math = useVectorApi ? VectorSupport.newVectorMath() : new ScalarMath();
        this.matmul = new CpuMatmul(gemm);
        this.softmax = new CpuSoftmax(math);
        this.activations = new CpuActivations(math);
        this.attention = new CpuAttention(gemm, math);
        this.crossEntropy = new CpuCrossEntropy(math);
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

    /** TODO(port): the array kernels the not yet ported ops call directly; removed once every op is a kernel. */
    public MathKernels math() {
        return math;
    }

    /** TODO(port): see {@link #math()}. */
    public void gemm(float[] a, int aOffset, boolean transposeA, float[] b, int bOffset, boolean transposeB,
                     float[] c, int cOffset, int m, int n, int k, boolean accumulate) {
        gemm.gemm(a, aOffset, transposeA, b, bOffset, transposeB, c, cOffset, m, n, k, accumulate);
    }

    @Override
    public Device device() {
        return Device.cpu();
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
    public Storage allocate(DType dtype, long elements, boolean shortLived) {
        long bytes = dtype.bytesFor(elements);
        return shortLived ? HostStorage.allocateHeap(bytes, dtype == DType.F32, memory)
                : HostStorage.allocateNative(bytes, memory);
    }

    @Override
    public MemoryStats memory() {
        return memory.stats();
    }

    @Override
    public void resetPeak() {
        memory.resetPeak();
    }

    @Override
    public void copyFromHost(MemorySegment src, Tensor dst) {
        if (!dst.isContiguous()) {
            throw new IllegalArgumentException("copyFromHost needs a contiguous destination, got " + dst);
        }
        long bytes = dst.dtype().bytesFor(dst.numel());
        MemorySegment.copy(src, 0, CpuTensors.segment(dst), dst.dtype().bytesFor(dst.offset()), bytes);
    }

    @Override
    public void copyToHost(Tensor src, MemorySegment dst) {
        MemorySegment s = CpuTensors.segment(src);
        if (src.isContiguous()) {
            MemorySegment.copy(s, src.dtype().bytesFor(src.offset()), dst, 0, src.dtype().bytesFor(src.numel()));
        } else if (src.dtype() == DType.F32) {
            MemorySegment.copy(MemorySegment.ofArray(CpuTensors.read(src)), 0, dst, 0, src.numel() * Float.BYTES);
        } else {
            long size = src.dtype().byteSize();
            long[] from = CpuTensors.elementOffsets(src);
            for (int i = 0; i < from.length; i++) {
                MemorySegment.copy(s, from[i] * size, dst, i * size, size);
            }
        }
    }

    @Override
    public MatmulKernels matmul() {
        return matmul;
    }

    @Override
    public CopyKernels copy() {
        return copy;
    }

    @Override
    public ElementwiseKernels elementwise() {
        return elementwise;
    }

    @Override
    public ReductionKernels reductions() {
        return reductions;
    }

    @Override
    public SoftmaxKernels softmax() {
        return softmax;
    }

    @Override
    public NormKernels norms() {
        return norms;
    }

    @Override
    public ActivationKernels activations() {
        return activations;
    }

    @Override
    public RotaryKernels rotary() {
        return rotary;
    }

    @Override
    public AttentionKernels attention() {
        return attention;
    }

    @Override
    public EmbeddingKernels embedding() {
        return embedding;
    }

    @Override
    public CrossEntropyKernels crossEntropy() {
        return crossEntropy;
    }

    @Override
    public DropoutKernels dropout() {
        return dropout;
    }

    @Override
    public OptimizerKernels optimizer() {
        return optimizer;
    }
}
