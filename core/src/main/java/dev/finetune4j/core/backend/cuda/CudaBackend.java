package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.ActivationKernels;
import dev.finetune4j.core.backend.AttentionKernels;
import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.CopyKernels;
import dev.finetune4j.core.backend.CrossEntropyKernels;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DeviceCounters;
import dev.finetune4j.core.backend.DropoutKernels;
import dev.finetune4j.core.backend.ElementwiseKernels;
import dev.finetune4j.core.backend.EmbeddingKernels;
import dev.finetune4j.core.backend.KernelFamilies;
import dev.finetune4j.core.backend.KernelProfile;
import dev.finetune4j.core.backend.MatmulKernels;
import dev.finetune4j.core.backend.MemoryStats;
import dev.finetune4j.core.backend.NormKernels;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.backend.QuantizationKernels;
import dev.finetune4j.core.backend.RecurrentKernels;
import dev.finetune4j.core.backend.ReductionKernels;
import dev.finetune4j.core.backend.RotaryKernels;
import dev.finetune4j.core.backend.SoftmaxKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Storage;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;

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
    private final KernelFamilies families;
    private final boolean poisonUninitialized;

    CudaBackend(Device device, CudaDriver driver, Cublas cublas, Nvrtc nvrtc, KernelCache cache, CudaChecks checks) {
        this.poisonUninitialized = checks.poisonUninitialized();
        this.context = new CudaContext(driver, device.index());
        this.allocator = new CachingAllocator(new DriverMemory(driver, context));
        this.staging = new PinnedStaging(driver, context);
        this.kernels = new CudaKernels(driver, nvrtc, context, cache, checks.syncEachLaunch());
        this.rt = new CudaRuntime(device, driver, cublas, context, allocator, kernels,
                cublas.createHandle(context.stream()), staging);
        this.name = driver.deviceName(context.device()) + " (" + kernels.architecture() + ")";
        this.families = new KernelFamilies(
                entering(MatmulKernels.class, new CudaMatmul(rt)),
                entering(CopyKernels.class, new CudaCopy(rt)),
                entering(ElementwiseKernels.class, new CudaElementwise(rt)),
                entering(ReductionKernels.class, new CudaReductions(rt)),
                entering(SoftmaxKernels.class, new CudaSoftmax(rt)),
                entering(NormKernels.class, new CudaNorms(rt)),
                entering(ActivationKernels.class, new CudaActivations(rt)),
                entering(RotaryKernels.class, new CudaRotary(rt)),
                entering(AttentionKernels.class, new CudaAttention(rt)),
                entering(EmbeddingKernels.class, new CudaEmbedding(rt)),
                entering(CrossEntropyKernels.class, new CudaCrossEntropy(rt)),
                entering(DropoutKernels.class, new CudaDropout(rt)),
                entering(OptimizerKernels.class, new CudaOptimizer(rt)),
                entering(QuantizationKernels.class, new CudaQuantization(rt)),
                entering(RecurrentKernels.class, new CudaRecurrent(rt)));
    }

    /**
     * {@code family} with this device's context made current on the calling thread before every op: a request
     * thread of a service may call any op first, and a driver or cuBLAS call on a thread without the context fails
     * (or, for cuBLAS, runs on device 0), so no op has to remember to enter it itself.
     */
    private <T> T entering(Class<T> type, T family) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[]{type}, (proxy, method, args) -> {
            if (method.getDeclaringClass() != Object.class) {
                context.enter();
            }
            try {
                return method.invoke(family, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }));
    }

    @Override
    public KernelFamilies kernels() {
        return families;
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
        return allocate(dtype, elements, (byte) 0, "memset (zeroing new tensors)");
    }

    @Override
    public Storage allocateUninitialized(DType dtype, long elements, boolean shortLived) {
        if (poisonUninitialized) {
            return allocate(dtype, elements, (byte) 0xFF, "memset (poisoning new tensors)");
        }
        long bytes = storageBytes(dtype, elements);
        return new CudaStorage(rt.device, allocator, allocator.allocate(bytes), bytes);
    }

    /** Storage whose every byte is {@code fill}, set on the stream ({@code label} names the memset in profiles). */
    private Storage allocate(DType dtype, long elements, byte fill, String label) {
        long bytes = storageBytes(dtype, elements);
        long pointer = allocator.allocate(bytes);
        context.enter();
        context.queue(() -> label, () -> rt.driver.memsetAsync(pointer, fill, bytes, context.stream()));
        return new CudaStorage(rt.device, allocator, pointer, bytes);
    }

    /** Bytes of storage for {@code elements} values: at least one, so that every storage has an address. */
    private static long storageBytes(DType dtype, long elements) {
        return Math.max(1, dtype.bytesFor(elements));
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
    public void startProfiling() {
        context.enter();
        context.timer().start();
    }

    @Override
    public KernelProfile stopProfiling() {
        context.enter();
        return context.timer().stop();
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

    @Override
    public DeviceCounters counters() {
        return new DeviceCounters(transfers(), driverAllocations(), kernels.launches() + rt.gemms.calls(),
                rt.gemms.half(), rt.gemms.float32());
    }

    /** What the kernel families share: the context and stream, the allocator (for {@link NcclCollective}). */
    CudaRuntime runtime() {
        return rt;
    }

    /** Host<->device transfers so far (tests check that a training step makes none). */
    long transfers() {
        return staging.transfers();
    }

    /** Driver allocations so far (tests check that a steady-state step makes none). */
    long driverAllocations() {
        return allocator.driverAllocations();
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
        public void synchronize() {
            context.synchronize();
        }

        @Override
        public long[] info() {
            context.enter();
            return driver.memInfo();
        }
    }
}
