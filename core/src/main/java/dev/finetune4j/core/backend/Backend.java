package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Storage;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The primitive kernels of one device, grouped by op family (each family interface keeps an op's forward and
 * backward side by side). Ops in {@code dev.finetune4j.core.autograd} and the optimizers call a backend; layers
 * and models never do, and nothing outside a backend reads or writes its {@link Storage}.
 *
 * <p>Conventions of every kernel, so that an asynchronous device (a CUDA stream) can implement them:
 * <ul>
 *   <li>every tensor argument lives on this backend's {@link #device()};</li>
 *   <li>results are written into tensors the caller allocated ({@link Tensor#zeros}, say), contiguous and F32 unless a
 *       method says otherwise; inputs may be any strided view unless a method asks for contiguous ones;</li>
 *   <li>an output aliases an input only where the method allows it;</li>
 *   <li>a call may return before the work is done: work is ordered per backend, {@link #synchronize()} waits for
 *       it, and {@link #copyToHost} synchronizes before it returns.</li>
 * </ul>
 * Implementations are thread-safe: request threads of a service may call them at once.
 */
public interface Backend {

    /**
     * The device this backend computes on.
     *
     * @return the device
     */
    Device device();

    /**
     * Human-readable device name, for logs.
     *
     * @return e.g. the GPU's model name
     */
    String deviceName();

    /** Waits until all work queued on this backend has finished (a no-op on the synchronous CPU backend). */
    void synchronize();

    // ---- memory and transfers -------------------------------------------------------------------------------

    /**
     * Zero-filled storage for {@code elements} values of {@code dtype}.
     *
     * @param dtype the element type
     * @param elements the number of values
     * @param shortLived true for a step's activations (freed together when the step's scope closes), false for
     *                   parameters, gradients and optimizer state; a backend may place the two differently
     * @return the storage
     */
    Storage allocate(DType dtype, long elements, boolean shortLived);

    /**
     * Storage for {@code elements} values of {@code dtype} whose values are undefined until written: for the output
     * of a kernel that writes every element of it, so that a device need not clear memory that is overwritten at
     * once. A backend whose fresh memory costs nothing to clear keeps this default, {@link #allocate}.
     *
     * @param dtype the element type
     * @param elements the number of values
     * @param shortLived as for {@link #allocate}
     * @return the storage
     */
    default Storage allocateUninitialized(DType dtype, long elements, boolean shortLived) {
        return allocate(dtype, elements, shortLived);
    }

    /**
     * Allocated and peak bytes of this device's tensors.
     *
     * @return the memory statistics
     */
    MemoryStats memory();

    /** Starts a new peak in {@link #memory()} from what is allocated now. */
    void resetPeak();

    /**
     * Host transfers and driver allocations so far; a backend that counts none (its tensors live in host memory)
     * keeps this default.
     *
     * @return the running totals
     */
    default DeviceCounters counters() {
        return DeviceCounters.NONE;
    }

    /**
     * Starts timing every piece of work this backend queues (each kernel, product, copy and memset) on the device,
     * until {@link #stopProfiling()}; for finding where a training step's time goes. Profiling slows the work it
     * times a little, so time the steps that measure speed without it. A backend that cannot time its work keeps
     * this default, which does nothing.
     *
     * @throws IllegalStateException when this backend times its work and profiling has already started
     */
    default void startProfiling() {
    }

    /**
     * Waits for the work queued since {@link #startProfiling()} and returns where the device's time went.
     *
     * @return the profile; {@link KernelProfile#NONE} from a backend that cannot time its work
     * @throws IllegalStateException when this backend times its work and profiling has not started
     */
    default KernelProfile stopProfiling() {
        return KernelProfile.NONE;
    }

    /**
     * Copies host bytes into {@code dst}: {@code src} holds {@code dst.numel()} values of {@code dst.dtype()},
     * row-major, little-endian; {@code dst} is contiguous.
     *
     * @param src the host bytes
     * @param dst the tensor to fill
     */
    void copyFromHost(MemorySegment src, Tensor dst);

    /**
     * Copies the values of {@code src} (any layout) to the host, row-major in {@code src.dtype()}; waits for
     * queued work first.
     *
     * @param src the tensor to read
     * @param dst receives {@code src.numel()} values
     */
    void copyToHost(Tensor src, MemorySegment dst);

    // ---- kernel families ------------------------------------------------------------------------------------

    /**
     * Every kernel family of this backend.
     *
     * @return the kernel families
     */
    KernelFamilies kernels();

    /**
     * The matrix-product kernels.
     *
     * @return {@code kernels().matmul()}
     */
    default MatmulKernels matmul() {
        return kernels().matmul();
    }

    /**
     * The copy kernels.
     *
     * @return {@code kernels().copy()}
     */
    default CopyKernels copy() {
        return kernels().copy();
    }

    /**
     * The elementwise kernels.
     *
     * @return {@code kernels().elementwise()}
     */
    default ElementwiseKernels elementwise() {
        return kernels().elementwise();
    }

    /**
     * The reduction kernels.
     *
     * @return {@code kernels().reductions()}
     */
    default ReductionKernels reductions() {
        return kernels().reductions();
    }

    /**
     * The softmax kernels.
     *
     * @return {@code kernels().softmax()}
     */
    default SoftmaxKernels softmax() {
        return kernels().softmax();
    }

    /**
     * The normalisation kernels.
     *
     * @return {@code kernels().norms()}
     */
    default NormKernels norms() {
        return kernels().norms();
    }

    /**
     * The activation kernels.
     *
     * @return {@code kernels().activations()}
     */
    default ActivationKernels activations() {
        return kernels().activations();
    }

    /**
     * The rotary kernels.
     *
     * @return {@code kernels().rotary()}
     */
    default RotaryKernels rotary() {
        return kernels().rotary();
    }

    /**
     * The attention kernels.
     *
     * @return {@code kernels().attention()}
     */
    default AttentionKernels attention() {
        return kernels().attention();
    }

    /**
     * The embedding kernels.
     *
     * @return {@code kernels().embedding()}
     */
    default EmbeddingKernels embedding() {
        return kernels().embedding();
    }

    /**
     * The cross-entropy kernels.
     *
     * @return {@code kernels().crossEntropy()}
     */
    default CrossEntropyKernels crossEntropy() {
        return kernels().crossEntropy();
    }

    /**
     * The dropout kernels.
     *
     * @return {@code kernels().dropout()}
     */
    default DropoutKernels dropout() {
        return kernels().dropout();
    }

    /**
     * The optimizer kernels.
     *
     * @return {@code kernels().optimizer()}
     */
    default OptimizerKernels optimizer() {
        return kernels().optimizer();
    }

    /**
     * NF4 quantization and dequantization.
     *
     * @return this backend's quantization kernels
     */
    default QuantizationKernels quantization() {
        return kernels().quantization();
    }

    /**
     * Linear attention's convolution and gated delta rule.
     *
     * @return {@code kernels().recurrent()}
     */
    default RecurrentKernels recurrent() {
        return kernels().recurrent();
    }
}
