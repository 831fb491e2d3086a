package dev.finetune4j.core.backend;

/**
 * Memory held by tensors of one device.
 *
 * @param allocatedBytes bytes of tensors whose scopes are open now
 * @param peakBytes      the most {@code allocatedBytes} has been since the backend started or
 *                       {@link Backend#resetPeak()} was last called
 */
public record MemoryStats(long allocatedBytes, long peakBytes) {

    /**
     * For progress lines: {@code "1.2 GiB (peak 3.4 GiB)"}.
     *
     * @return the description
     */
    public String describe() {
        return gib(allocatedBytes) + " (peak " + gib(peakBytes) + ")";
    }

    private static String gib(long bytes) {
        return bytes >= 1L << 30 ? String.format(java.util.Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30))
                : String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
}
