package dev.finetune4j.core.backend.cpu;

import java.util.stream.IntStream;

/**
 * Splits loops across the common fork-join pool: flat elementwise loops when they are large enough to pay off, and
 * loops over a few heavy items that each range sets up buffers for.
 */
final class Parallel {
    private static final int GRAIN = 1 << 15;

    private Parallel() {
    }

    /** Runs {@code body(from, to)} over [0, n) in chunks of at least {@value #GRAIN} elements. */
    static void chunks(int n, ChunkBody body) {
        int chunks = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors() * 4, n / GRAIN));
        if (chunks == 1) {
            body.run(0, n);
            return;
        }
        IntStream.range(0, chunks).parallel().forEach(c -> body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks)));
    }

    /**
     * Runs {@code body(from, to)} over [0, n) in at most four ranges per processor (enough for the pool to balance
     * them), so that each range allocates its buffers once for its items rather than once per item.
     */
    static void ranges(int n, ChunkBody body) {
        int ranges = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors() * 4, n));
        IntStream.range(0, ranges).parallel().forEach(c -> body.run((int) ((long) n * c / ranges), (int) ((long) n * (c + 1) / ranges)));
    }

    @FunctionalInterface
    interface ChunkBody {
        void run(int from, int to);
    }
}
