package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * A page-locked host buffer that transfers go through, in chunks of at most {@link #CHUNK} bytes (the driver
 * copies pageable memory through a staging buffer of its own, and more slowly). Counts the transfers, for tests
 * that a training step makes none. Thread-safe.
 */
final class PinnedStaging implements AutoCloseable {
    static final long CHUNK = 32L << 20;

    private final CudaDriver driver;
    private final CudaContext context;
    private MemorySegment buffer;
    private long transfers;

    PinnedStaging(CudaDriver driver, CudaContext context) {
        this.driver = driver;
        this.context = context;
    }

    /** Copies {@code src} to device address {@code dst} and waits until it has arrived. */
    synchronized void upload(MemorySegment src, long dst) {
        context.enter();
        transfers++;
        for (long at = 0; at < src.byteSize(); at += CHUNK) {
            long n = Math.min(CHUNK, src.byteSize() - at);
            MemorySegment stage = stage(n);
            MemorySegment.copy(src, at, stage, 0, n);
            long to = dst + at;
            context.queue(() -> "copy host to device",
                    () -> driver.copyHostToDeviceAsync(to, stage, n, context.stream()));
            driver.streamSynchronize(context.stream());
        }
    }

    /** Waits for queued work, then copies {@code dst.byteSize()} bytes from device address {@code src}. */
    synchronized void download(long src, MemorySegment dst) {
        context.enter();
        transfers++;
        driver.streamSynchronize(context.stream());
        for (long at = 0; at < dst.byteSize(); at += CHUNK) {
            long n = Math.min(CHUNK, dst.byteSize() - at);
            MemorySegment stage = stage(n);
            long from = src + at;
            context.queue(() -> "copy device to host", () -> driver.copyDeviceToHostAsync(stage, from, n,
                    context.stream()));
            driver.streamSynchronize(context.stream());
            MemorySegment.copy(stage, 0, dst, at, n);
        }
    }

    /** Host<->device copies made so far. */
    synchronized long transfers() {
        return transfers;
    }

    private MemorySegment stage(long bytes) {
        if (buffer == null || buffer.byteSize() < bytes) {
            if (buffer != null) {
                driver.hostFree(buffer);
            }
            buffer = driver.hostAlloc(Math.max(bytes, 1L << 20));
        }
        return buffer;
    }

    @Override
    public synchronized void close() {
        if (buffer != null) {
            context.enter();
            driver.hostFree(buffer);
            buffer = null;
        }
    }
}
