package dev.finetune4j.core.backend.cuda;

/** A device allocation that did not fit even after the allocator gave its cached blocks back. */
public final class CudaOutOfMemoryException extends CudaException {

    CudaOutOfMemoryException(long askedBytes, long freeBytes, long totalBytes) {
        super(outOfMemory(askedBytes, freeBytes, totalBytes), CudaDriver.CUDA_ERROR_OUT_OF_MEMORY);
    }
}
