package dev.finetune4j.core.backend.cpu;

import java.util.stream.IntStream;

/** Splits flat elementwise loops across the common fork-join pool when they are large enough to pay off. */
public final class Parallel {
    private static final int GRAIN = 1 << 15;

    private Parallel() {
    }

    /** Runs {@code body(from, to)} over [0, n) in chunks of at least {@value #GRAIN} elements. */
    public static void chunks(int n, ChunkBody body) {
        int chunks = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors() * 4, n / GRAIN));
        if (chunks == 1) {
            body.run(0, n);
            return;
        }
        IntStream.range(0, chunks).parallel().forEach(c -> body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks)));
    }

    @FunctionalInterface
    public interface ChunkBody {
        void run(int from, int to);
    }
}
