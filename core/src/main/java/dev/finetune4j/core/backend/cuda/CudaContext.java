package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;

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
    private final KernelTimer timer;

    CudaContext(CudaDriver driver, int ordinal) {
        this.driver = driver;
        driver.init();
        this.device = driver.device(ordinal);
        this.context = driver.primaryContextRetain(device);
        driver.setCurrent(context);
        this.stream = driver.streamCreate();
        this.timer = new KernelTimer(driver, this);
    }

    /**
     * Queues {@code work} on the stream; while profiling, its device time counts under {@code label} (built only
     * when the profile is read).
     */
    void queue(Supplier<String> label, Runnable work) {
        int mark = timer.before();
        work.run();
        timer.after(mark, label);
    }

    /** The timer of the stream's work, for profiles. */
    KernelTimer timer() {
        return timer;
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
        timer.close();
        driver.streamDestroy(stream);
        driver.primaryContextRelease(device);
    }
}
