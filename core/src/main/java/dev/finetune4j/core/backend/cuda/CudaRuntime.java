package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Tensor;

/**
 * What the kernel families of one device share: the context and stream, the allocator, the compiled kernels and
 * the cuBLAS handle. Also turns tensors into the device addresses kernels take.
 */
final class CudaRuntime {
    final Device device;
    final CudaDriver driver;
    final Cublas cublas;
    final CudaContext context;
    final CachingAllocator allocator;
    final CudaKernels kernels;
    final java.lang.foreign.MemorySegment cublasHandle;
    final PinnedStaging staging;

    CudaRuntime(Device device, CudaDriver driver, Cublas cublas, CudaContext context, CachingAllocator allocator,
                CudaKernels kernels, java.lang.foreign.MemorySegment cublasHandle, PinnedStaging staging) {
        this.staging = staging;
        this.device = device;
        this.driver = driver;
        this.cublas = cublas;
        this.context = context;
        this.allocator = allocator;
        this.kernels = kernels;
        this.cublasHandle = cublasHandle;
    }

    /**
     * The device address of the storage behind {@code t} (its first element is at {@link Tensor#offset()}).
     *
     * @throws IllegalArgumentException when {@code t} is not on this device
     */
    long base(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s) || !s.device().equals(device)) {
            throw new IllegalArgumentException("a " + device + " kernel was handed " + t + " on " + t.device()
                    + "; every operand of an op must be on the same device (copy with Tensor.copyTo)");
        }
        return s.pointer();
    }

    /** The device address of {@code t}'s first element. */
    long address(Tensor t) {
        return base(t) + t.offset() * t.dtype().byteSize();
    }

    /** The address of {@code t}, or 0 for a null tensor (an optional output or input). */
    long addressOrNull(Tensor t) {
        return t == null ? 0 : address(t);
    }

    /** Temporary device buffers for one kernel call. */
    Scratch scratch() {
        return new Scratch(this);
    }
}
