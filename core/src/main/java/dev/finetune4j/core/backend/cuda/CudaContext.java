package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * One device's primary context and the one stream all of the backend's work is ordered on. The context is made
 * current on the calling thread before each call that needs it ({@link #enter()}), since request threads of a
 * service may call the backend.
 */
final class CudaContext implements AutoCloseable {
    private final CudaDriver driver;
    private final int device;
    private final MemorySegment context;
    private final MemorySegment stream;

    CudaContext(CudaDriver driver, int ordinal) {
        this.driver = driver;
        driver.init();
        this.device = driver.device(ordinal);
        this.context = driver.primaryContextRetain(device);
        driver.setCurrent(context);
        this.stream = driver.streamCreate();
    }

    /** Makes this context current on the calling thread. */
    void enter() {
        driver.setCurrent(context);
    }

    MemorySegment stream() {
        return stream;
    }

    int device() {
        return device;
    }

    /** Waits for the stream's work. */
    void synchronize() {
        enter();
        driver.streamSynchronize(stream);
    }

    @Override
    public void close() {
        enter();
        driver.streamSynchronize(stream);
        driver.streamDestroy(stream);
        driver.primaryContextRelease(device);
    }
}
