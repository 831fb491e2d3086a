package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static dev.finetune4j.core.backend.cuda.NativeFunctions.FLOAT;
import static dev.finetune4j.core.backend.cuda.NativeFunctions.INT;
import static dev.finetune4j.core.backend.cuda.NativeFunctions.PTR;

/**
 * The CUDA driver's event calls, for timing work on a stream ({@link KernelTimer}). Bound apart from
 * {@link CudaDriver}, on first use, so that a driver without them (cuEventElapsedTime_v2 came with CUDA 12.8) fails
 * only the profile that needs them.
 */
final class CudaEvents {
    /** CU_EVENT_DEFAULT: an event that records time. */
    static final int EVENT_DEFAULT = 0;

    private final CudaDriver driver;
    private final MethodHandle cuEventCreate, cuEventRecord, cuEventSynchronize, cuEventElapsedTime, cuEventDestroy;

    /** The binding through {@code f}'s handles; {@code driver} names failed calls' errors. */
    CudaEvents(NativeFunctions f, CudaDriver driver) {
        this.driver = driver;
        cuEventCreate = f.status("cuEventCreate", PTR, INT);
        cuEventRecord = f.status("cuEventRecord", PTR, PTR);
        cuEventSynchronize = f.status("cuEventSynchronize", PTR);
        cuEventElapsedTime = f.status("cuEventElapsedTime_v2", PTR, PTR, PTR);
        cuEventDestroy = f.status("cuEventDestroy_v2", PTR);
    }

    MemorySegment create() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            driver.check("cuEventCreate", CudaDriver.call(cuEventCreate, out, EVENT_DEFAULT));
            return out.get(PTR, 0);
        }
    }

    /** Queues {@code event} on {@code stream}: it completes, and takes its time, when the work before it has. */
    void record(MemorySegment event, MemorySegment stream) {
        driver.check("cuEventRecord", CudaDriver.call(cuEventRecord, event, stream));
    }

    /** Waits until {@code event} has completed. */
    void synchronize(MemorySegment event) {
        driver.check("cuEventSynchronize", CudaDriver.call(cuEventSynchronize, event));
    }

    /** Milliseconds between two completed events (about half a microsecond of resolution). */
    float elapsedMs(MemorySegment start, MemorySegment end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(FLOAT);
            driver.check("cuEventElapsedTime", CudaDriver.call(cuEventElapsedTime, out, start, end));
            return out.get(FLOAT, 0);
        }
    }

    void destroy(MemorySegment event) {
        driver.check("cuEventDestroy", CudaDriver.call(cuEventDestroy, event));
    }
}
