package dev.finetune4j.core.backend.cuda;

/** The device memory calls the caching allocator makes, so that it can be tested with a fake. */
interface DeviceMemory {

    /**
     * A new device allocation.
     *
     * @throws CudaException with status {@link CudaDriver#CUDA_ERROR_OUT_OF_MEMORY} when the device is full
     */
    long allocate(long bytes);

    void free(long pointer);

    /** Waits until the work queued on the device has finished (and stopped using blocks about to be freed). */
    void synchronize();

    /** {free, total} bytes of the device. */
    long[] info();
}
