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

    /** The device this backend computes on. */
    Device device();

    /** Human-readable device name, for logs. */
    String deviceName();

    /** Waits until all work queued on this backend has finished (a no-op on the synchronous CPU backend). */
    void synchronize();

    // ---- memory and transfers -------------------------------------------------------------------------------

    /**
     * Zero-filled storage for {@code elements} values of {@code dtype}.
     *
     * @param shortLived true for a step's activations (freed together when the step's scope closes), false for
     *                   parameters, gradients and optimizer state; a backend may place the two differently
     */
    Storage allocate(DType dtype, long elements, boolean shortLived);

    /** Allocated and peak bytes of this device's tensors. */
    MemoryStats memory();

    /** Starts a new peak in {@link #memory()} from what is allocated now. */
    void resetPeak();

    /**
     * Copies host bytes into {@code dst}: {@code src} holds {@code dst.numel()} values of {@code dst.dtype()},
     * row-major, little-endian; {@code dst} is contiguous.
     */
    void copyFromHost(MemorySegment src, Tensor dst);

    /**
     * Copies the values of {@code src} (any layout) to the host, row-major in {@code src.dtype()}; waits for
     * queued work first.
     */
    void copyToHost(Tensor src, MemorySegment dst);

    // ---- kernel families ------------------------------------------------------------------------------------

    /** Every kernel family of this backend. */
    KernelFamilies kernels();

    default MatmulKernels matmul() {
        return kernels().matmul();
    }

    default CopyKernels copy() {
        return kernels().copy();
    }

    default ElementwiseKernels elementwise() {
        return kernels().elementwise();
    }

    default ReductionKernels reductions() {
        return kernels().reductions();
    }

    default SoftmaxKernels softmax() {
        return kernels().softmax();
    }

    default NormKernels norms() {
        return kernels().norms();
    }

    default ActivationKernels activations() {
        return kernels().activations();
    }

    default RotaryKernels rotary() {
        return kernels().rotary();
    }

    default AttentionKernels attention() {
        return kernels().attention();
    }

    default EmbeddingKernels embedding() {
        return kernels().embedding();
    }

    default CrossEntropyKernels crossEntropy() {
        return kernels().crossEntropy();
    }

    default DropoutKernels dropout() {
        return kernels().dropout();
    }

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
}
