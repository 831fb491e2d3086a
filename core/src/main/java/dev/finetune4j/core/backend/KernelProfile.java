package dev.finetune4j.core.backend;

import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Where a device's time went between {@link Backend#startProfiling()} and {@link Backend#stopProfiling()}: the
 * device time of each kind of work (a kernel, a matrix product of one shape, a copy, a memset), summed over its
 * calls. {@code wallMs} is the device's time from start to stop; what the entries leave of it is time the device
 * waited, for the host to queue work or across a synchronization.
 *
 * @param wallMs  milliseconds of device time from start to stop
 * @param entries the work done, the most time first
 */
public record KernelProfile(double wallMs, List<Entry> entries) {

    /** The profile of a backend that cannot time its work: nothing measured. */
    public static final KernelProfile NONE = new KernelProfile(0, List.of());

    /**
     * One kind of work.
     *
     * @param name    the kernel ({@code family.kernel}), product ({@code gemm bf16 m x n x k}) or transfer
     * @param calls   how many times it ran
     * @param totalMs its device time over all calls, in milliseconds
     */
    public record Entry(String name, long calls, double totalMs) {
    }

    /**
     * The profile with {@code entries} ordered by time, the most first.
     *
     * @param wallMs  milliseconds of device time from start to stop
     * @param entries the work done, in any order
     */
    public KernelProfile {
        entries = entries.stream().sorted(Comparator.comparingDouble(Entry::totalMs).reversed()
                .thenComparing(Entry::name)).toList();
    }

    /**
     * Milliseconds the device spent working: the sum of the entries.
     *
     * @return the busy time
     */
    public double busyMs() {
        return entries.stream().mapToDouble(Entry::totalMs).sum();
    }

    /**
     * The profile as a text table of its {@code rows} most expensive entries, with calls, milliseconds and share of
     * the wall time, then one line for the rest and one for the device's idle time.
     *
     * @param rows how many entries to list one by one
     * @return the table
     */
    public String table(int rows) {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "%-60s %8s %10s %7s%n", "work", "calls",
                "ms", "share"));
        List<Entry> listed = entries.subList(0, Math.min(rows, entries.size()));
        listed.forEach(e -> out.append(line(e.name(), e.calls(), e.totalMs())));
        List<Entry> rest = entries.subList(listed.size(), entries.size());
        if (!rest.isEmpty()) {
            out.append(line("(" + rest.size() + " others)", rest.stream().mapToLong(Entry::calls).sum(),
                    rest.stream().mapToDouble(Entry::totalMs).sum()));
        }
        out.append(line("(device idle)", 0, Math.max(0, wallMs - busyMs())));
        return out.toString();
    }

    private String line(String name, long calls, double ms) {
        return String.format(Locale.ROOT, "%-60s %8d %10.3f %6.1f%%%n", name, calls, ms,
                wallMs > 0 ? 100 * ms / wallMs : 0);
    }
}
