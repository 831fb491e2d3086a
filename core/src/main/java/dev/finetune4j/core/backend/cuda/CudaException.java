package dev.finetune4j.core.backend.cuda;

import java.util.Locale;

/**
 * A failed CUDA driver, cuBLAS or NVRTC call: the message names the call and the library's error.
 */
public class CudaException extends RuntimeException {
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
