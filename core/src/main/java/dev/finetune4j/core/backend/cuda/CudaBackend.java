package dev.finetune4j.core.backend.cuda;

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
import dev.finetune4j.core.backend.MemoryStats;
import dev.finetune4j.core.backend.NormKernels;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.backend.ReductionKernels;
import dev.finetune4j.core.backend.RotaryKernels;
import dev.finetune4j.core.backend.SoftmaxKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Storage;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * An NVIDIA GPU: the device's primary context with one stream that all work is queued on, a caching allocator,
 * kernels compiled by NVRTC for the card on first use (CUDA C resources, one file per op family) and cuBLAS for
 * matrix products. Calls return once their work is queued; {@link #copyToHost} and {@link #synchronize} wait.
 * Thread-safe: launches and allocations are serialized.
 */
public final class CudaBackend implements Backend, AutoCloseable {
    private final CudaContext context;
    private final CachingAllocator allocator;
    private final PinnedStaging staging;
    private final CudaKernels kernels;
    private final CudaRuntime rt;
    private final String name;
    private final MatmulKernels matmul;
    private final CopyKernels copy;
    private final ElementwiseKernels elementwise;
    private final ReductionKernels reductions;
    private final SoftmaxKernels softmax;
    private final NormKernels norms;
    private final ActivationKernels activations;
    private final RotaryKernels rotary;
    private final AttentionKernels attention;
    private final EmbeddingKernels embedding;
    private final CrossEntropyKernels crossEntropy;
    private final DropoutKernels dropout;
    private final OptimizerKernels optimizer;

    CudaBackend(Device device, CudaLibraries libs, KernelCache cache) {
        CudaDriver driver = libs.driver();
        this.context = new CudaContext(driver, device.index());
        this.allocator = new CachingAllocator(new DriverMemory(driver, context));
        this.staging = new PinnedStaging(driver, context);
        this.kernels = new CudaKernels(driver, libs.nvrtc(), context, cache);
        this.rt = new CudaRuntime(device, driver, libs.cublas(), context, allocator, kernels,
                libs.cublas().createHandle(context.stream()), staging);
        this.name = driver.deviceName(context.device()) + " (" + kernels.architecture() + ")";
        this.matmul = new CudaMatmul(rt);
        this.copy = new CudaCopy(rt);
        this.elementwise = new CudaElementwise(rt);
        this.reductions = new CudaReductions(rt);
        this.softmax = new CudaSoftmax(rt);
        this.norms = new CudaNorms(rt);
        this.activations = new CudaActivations(rt);
        this.rotary = new CudaRotary(rt);
        this.attention = new CudaAttention(rt);
        this.embedding = new CudaEmbedding(rt);
        this.crossEntropy = new CudaCrossEntropy(rt);
        this.dropout = new CudaDropout(rt);
        this.optimizer = new CudaOptimizer(rt);
    }

    @Override
    public Device device() {
        return rt.device;
    }

    @Override
    public String deviceName() {
        return name;
    }

    @Override
    public void synchronize() {
        context.synchronize();
    }

    @Override
    public Storage allocate(DType dtype, long elements, boolean shortLived) {
        long bytes = dtype.bytesFor(elements);
        long pointer = allocator.allocate(Math.max(1, bytes));
        context.enter();
        rt.driver.memsetAsync(pointer, (byte) 0, Math.max(1, bytes), context.stream());
        return new CudaStorage(rt.device, allocator, pointer, Math.max(1, bytes));
    }

    @Override
    public MemoryStats memory() {
        return allocator.stats();
    }

    @Override
    public void resetPeak() {
        allocator.resetPeak();
    }

    @Override
    public void copyFromHost(MemorySegment src, Tensor dst) {
        if (!dst.isContiguous()) {
            throw new IllegalArgumentException("copyFromHost needs a contiguous destination, got " + dst);
        }
        long bytes = dst.dtype().bytesFor(dst.numel());
        staging.upload(src.asSlice(0, bytes), rt.address(dst));
    }

    @Override
    public void copyToHost(Tensor src, MemorySegment dst) {
        long bytes = src.dtype().bytesFor(src.numel());
        if (src.isContiguous()) {
            staging.download(rt.address(src), dst.asSlice(0, bytes));
            return;
        }
        try (Scratch s = rt.scratch()) {
            long contiguous = s.buffer(bytes);
            CudaCopy.copyView(rt, src, contiguous, src.dtype());
            staging.download(contiguous, dst.asSlice(0, bytes));
        }
    }

    /** Host<->device transfers so far (tests check that a training step makes none). */
    long transfers() {
        return staging.transfers();
    }

    /** Driver allocations so far (tests check that a steady-state step makes none). */
    long driverAllocations() {
        return allocator.driverAllocations();
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

    /** Waits for queued work, then frees the kernels, the staging buffer, every device block and the context. */
    @Override
    public void close() {
        context.synchronize();
        kernels.close();
        staging.close();
        rt.cublas.destroyHandle(rt.cublasHandle);
        allocator.close();
        context.close();
    }

    /** The allocator's view of the driver. */
    private record DriverMemory(CudaDriver driver, CudaContext context) implements DeviceMemory {
        @Override
        public long allocate(long bytes) {
            context.enter();
            return driver.memAlloc(bytes);
        }

        @Override
        public void free(long pointer) {
            context.enter();
            driver.memFree(pointer);
        }

        @Override
        public long[] info() {
            context.enter();
            return driver.memInfo();
        }
    }
}
