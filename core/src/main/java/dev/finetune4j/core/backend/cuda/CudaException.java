package dev.finetune4j.core.backend.cuda;

import java.util.Locale;
import java.util.Set;

/**
 * A failed CUDA driver, cuBLAS, NVRTC or NCCL call: the message names the call and the library's error.
 */
public class CudaException extends RuntimeException {
    /**
     * Driver errors after which the CUDA context of the process is unusable (a kernel faulted or timed out): the
     * driver returns the same error for every later call, so the process must be restarted.
     */
    private static final Set<Integer> CONTEXT_LOST = Set.of(
            700, // CUDA_ERROR_ILLEGAL_ADDRESS
            702, // CUDA_ERROR_LAUNCH_TIMEOUT
            714, // CUDA_ERROR_HARDWARE_STACK_ERROR
            715, // CUDA_ERROR_ILLEGAL_INSTRUCTION
            716, // CUDA_ERROR_MISALIGNED_ADDRESS
            717, // CUDA_ERROR_INVALID_ADDRESS_SPACE
            718, // CUDA_ERROR_INVALID_PC
            719); // CUDA_ERROR_LAUNCH_FAILED

    /** The library's status code. */
    private final int status;

    CudaException(String message, int status) {
        super(message);
        this.status = status;
    }

    /**
     * The library's status code (0 when the failure did not come from a status code).
     *
     * @return the status code
     */
    public int status() {
        return status;
    }

    /** {@code "cuMemAlloc failed: CUDA_ERROR_INVALID_VALUE (invalid argument, code 1)"}. */
    static String describe(String call, int status, String name, String description) {
        String detail = description == null || description.isBlank() ? "" : description + ", ";
        return call + " failed: " + (name == null || name.isBlank() ? "unknown error" : name)
                + " (" + detail + "code " + status + ")";
    }

    /**
     * The message of a failed driver call: {@link #describe}, and for an error that loses the context, what that
     * means and how to find the kernel that caused it (launches are asynchronous, so a later call reports it).
     */
    static String describeDriver(String call, int status, String name, String description) {
        String message = describe(call, status, name, description);
        if (!CONTEXT_LOST.contains(status)) {
            return message;
        }
        return message + ". A kernel failed on the device, and the CUDA context of this process is lost: every later"
                + " call on the device fails the same way, so the process must be restarted. Launches do not wait for"
                + " their kernels, so the call named here may only report an earlier launch's failure; with "
                + CudaBackendProvider.SYNC_ENV + "=1 each launch waits, and the failing kernel is named first";
    }

    /** The message of an allocation that did not fit, with what to try. */
    static String outOfMemory(long askedBytes, long freeBytes, long totalBytes) {
        return String.format(Locale.ROOT, "out of GPU memory: asked for %s, %s free of %s on the device."
                        + " Try a smaller micro-batch (more gradient accumulation steps), gradient checkpointing,"
                        + " or QLoRA (a 4-bit base model)", bytes(askedBytes), bytes(freeBytes), bytes(totalBytes));
    }

    private static String bytes(long n) {
        if (n >= 1L << 30) {
            return String.format(Locale.ROOT, "%.2f GiB", n / (double) (1L << 30));
        }
        return String.format(Locale.ROOT, "%.1f MiB", n / (double) (1L << 20));
    }
}
