package dev.finetune4j.core.backend;

/** Allocated and peak bytes of one device, for backends to keep their {@link MemoryStats}. Thread-safe. */
public final class MemoryCounter {
    /** A counter at zero. */
    public MemoryCounter() {
    }

    private long allocated;
    private long peak;

    /**
     * Counts an allocation.
     *
     * @param bytes the bytes allocated
     */
    public synchronized void allocated(long bytes) {
        allocated += bytes;
        peak = Math.max(peak, allocated);
    }

    /**
     * Counts a release.
     *
     * @param bytes the bytes freed
     */
    public synchronized void freed(long bytes) {
        allocated -= bytes;
    }

    /** Starts a new peak from the bytes allocated now. */
    public synchronized void resetPeak() {
        peak = allocated;
    }

    /**
     * The current and peak bytes.
     *
     * @return the statistics
     */
    public synchronized MemoryStats stats() {
        return new MemoryStats(allocated, peak);
    }
}
