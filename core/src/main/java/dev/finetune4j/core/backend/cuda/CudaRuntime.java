package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
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
    final GemmCounter gemms = new GemmCounter();
    /** Address tables of the multi-tensor kernels, kept on the device while they stay the same. */
    final DeviceTables tables = new DeviceTables(this);

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

    /**
     * The device address of {@code t}, which a kernel writes (or updates in place) as contiguous F32 values.
     *
     * @throws IllegalArgumentException when {@code t} is not contiguous F32, as the CPU backend refuses it: a kernel
     *                                  would write floats past a narrower tensor's end or across a view's gaps
     */
    long output(Tensor t) {
        if (t.dtype() != DType.F32 || !t.isContiguous()) {
            throw new IllegalArgumentException("kernel outputs are contiguous F32 tensors, got " + t);
        }
        return address(t);
    }

    /**
     * The device address of {@code t}, which a kernel that also writes bf16 (an activation's forward) writes as
     * contiguous F32 or BF16 values, the dtype passed beside it.
     *
     * @throws IllegalArgumentException when {@code t} is neither, as the CPU backend refuses it
     */
    long floatOutput(Tensor t) {
        if (t.dtype() != DType.F32 && t.dtype() != DType.BF16 || !t.isContiguous()) {
            throw new IllegalArgumentException("this kernel's outputs are contiguous F32 or BF16 tensors, got " + t);
        }
        return address(t);
    }

    /** {@link #output} of an optional tensor: 0 for null. */
    long outputOrNull(Tensor t) {
        return t == null ? 0 : output(t);
    }

    /** Temporary device buffers for one kernel call. */
    Scratch scratch() {
        return new Scratch(this);
    }
}
