package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.KernelFamilies;
import dev.finetune4j.core.backend.MemoryCounter;
import dev.finetune4j.core.backend.MemoryStats;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Storage;
import dev.finetune4j.core.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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
    private final KernelFamilies kernels;

    CpuBackend(boolean useVectorApi) {
        this.gemm = useVectorApi ? VectorSupport.newVectorGemm() : new ScalarGemm();
        this.math = useVectorApi ? VectorSupport.newVectorMath() : new ScalarMath();
        this.kernels = new KernelFamilies(new CpuMatmul(gemm), new CpuCopy(), new CpuElementwise(), new CpuReductions(),
                new CpuSoftmax(math), new CpuNorms(), new CpuActivations(math), new CpuRotary(),
                new CpuAttention(gemm, math), new CpuEmbedding(), new CpuCrossEntropy(math), new CpuDropout(),
                new CpuOptimizer(), new CpuQuantization(), new CpuRecurrent(gemm));
    }

    @Override
    public KernelFamilies kernels() {
        return kernels;
    }

    /**
     * The shared instance; uses the Vector API when the JVM has it.
     *
     * @return the shared CPU backend
     */
    public static CpuBackend instance() {
        return INSTANCE;
    }

    /**
     * An instance with the scalar kernels only (the oracle in conformance tests).
     *
     * @return a new scalar backend
     */
    public static CpuBackend scalar() {
        return new CpuBackend(false);
    }

    static {
        LOG.debug("CPU backend: {} threads, Vector API {}", Runtime.getRuntime().availableProcessors(),
                VectorSupport.isAvailable() ? "on" : "off (add --add-modules jdk.incubator.vector for speed)");
    }

    /** The exponential-based row kernels (softmax, cross-entropy, SiLU), vectorized like the gemm. */
    MathKernels math() {
        return math;
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
        MemorySegment to = CpuTensors.segment(dst);
        long at = dst.dtype().bytesFor(dst.offset());
        // NOTE: no 5-argument MemorySegment.copy in the CPU backend. JDK 24+ runs copies under 64 bytes of that
        // form through Java code (JDK-8338591); with it, the test suite twice saw small tensors whose values past
        // the first 8 bytes were zero (JDK 25.0.3, not reproduced in isolation). The array forms and the
        // 7-argument form, which the code used before, never showed it.
        if (src.heapBase().orElse(null) instanceof float[] values && src.address() == 0 && bytes == (long) values.length * Float.BYTES) {
            MemorySegment.copy(values, 0, to, ValueLayout.JAVA_FLOAT_UNALIGNED, at, values.length);
        } else if (src.heapBase().orElse(null) instanceof long[] values && src.address() == 0 && bytes == (long) values.length * Long.BYTES) {
            MemorySegment.copy(values, 0, to, ValueLayout.JAVA_LONG_UNALIGNED, at, values.length);
        } else if (src.heapBase().orElse(null) instanceof int[] values && src.address() == 0 && bytes == (long) values.length * Integer.BYTES) {
            MemorySegment.copy(values, 0, to, ValueLayout.JAVA_INT_UNALIGNED, at, values.length);
        } else {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, 0, to, ValueLayout.JAVA_BYTE, at, bytes);
        }
        CpuTensors.written(dst);
    }

    @Override
    public void copyToHost(Tensor src, MemorySegment dst) {
        MemorySegment s = CpuTensors.segment(src);
        long bytes = src.dtype().bytesFor(src.numel());
        if (src.dtype() == DType.F32 && dst.heapBase().orElse(null) instanceof float[] out && dst.address() == 0
                && out.length == src.numel()) {
            float[] values = CpuTensors.read(src); // see the NOTE in copyFromHost
            System.arraycopy(values, 0, out, 0, out.length);
        } else if (src.isContiguous() && dst.heapBase().orElse(null) instanceof long[] out && dst.address() == 0
                && (long) out.length * Long.BYTES == bytes) {
            MemorySegment.copy(s, ValueLayout.JAVA_LONG_UNALIGNED, src.dtype().bytesFor(src.offset()), out, 0, out.length);
        } else if (src.isContiguous()) {
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, src.dtype().bytesFor(src.offset()), dst, ValueLayout.JAVA_BYTE, 0, bytes);
        } else if (src.dtype() == DType.F32) {
            MemorySegment.copy(CpuTensors.read(src), 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, Math.toIntExact(src.numel()));
        } else {
            long size = src.dtype().byteSize();
            long[] from = CpuTensors.elementOffsets(src);
            for (int i = 0; i < from.length; i++) {
                MemorySegment.copy(s, ValueLayout.JAVA_BYTE, from[i] * size, dst, ValueLayout.JAVA_BYTE, i * size, size);
            }
        }
    }













}
