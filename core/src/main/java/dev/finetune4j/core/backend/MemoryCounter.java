package dev.finetune4j.core.backend;

/** Allocated and peak bytes of one device, for backends to keep their {@link MemoryStats}. Thread-safe. */
public final class MemoryCounter {
    private long allocated;
    private long peak;

    /** Counts an allocation. */
    public synchronized void allocated(long bytes) {
        allocated += bytes;
        peak = Math.max(peak, allocated);
    }

    /** Counts a release. */
    public synchronized void freed(long bytes) {
        allocated -= bytes;
    }

    /** Starts a new peak from the bytes allocated now. */
    public synchronized void resetPeak() {
        peak = allocated;
    }

    public synchronized MemoryStats stats() {
        return new MemoryStats(allocated, peak);
    }
}
