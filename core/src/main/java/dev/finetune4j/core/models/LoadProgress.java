package dev.finetune4j.core.models;

import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Progress of a long weight load (a 7B checkpoint quantized to NF4 on the CPU takes minutes): a line every
 * {@link #EVERY} with the bytes read so far, and a closing line when there was one. A load that ends within
 * {@link #EVERY} says nothing, so quick loads (tests, mapped bf16 weights) stay quiet.
 */
final class LoadProgress {
    static final Duration EVERY = Duration.ofSeconds(10);

    private final String what;
    private final long totalBytes;
    private final LongSupplier nanoClock;
    private final Consumer<String> sink;
    private final long start;
    private long lastLine;
    private long doneBytes;
    private boolean reported;

    /**
     * @param what       what is loading, as the lines name it (the model folder)
     * @param totalBytes the bytes of every tensor to read
     * @param nanoClock  the time in nanoseconds ({@code System::nanoTime})
     * @param sink       where lines go (a logger's info)
     */
    LoadProgress(String what, long totalBytes, LongSupplier nanoClock, Consumer<String> sink) {
        this.what = what;
        this.totalBytes = totalBytes;
        this.nanoClock = nanoClock;
        this.sink = sink;
        this.start = nanoClock.getAsLong();
        this.lastLine = start;
    }

    /** Counts {@code bytes} more as read, and reports when {@link #EVERY} has passed since the last line. */
    void advance(long bytes) {
        doneBytes += bytes;
        long now = nanoClock.getAsLong();
        if (now - lastLine >= EVERY.toNanos()) {
            sink.accept(String.format(Locale.ROOT, "loading %s: %s of %s (%d%%) in %s", what, gigabytes(doneBytes),
                    gigabytes(totalBytes), totalBytes == 0 ? 100 : doneBytes * 100 / totalBytes, clock(now - start)));
            lastLine = now;
            reported = true;
        }
    }

    /** The bytes counted as read so far. */
    long doneBytes() {
        return doneBytes;
    }

    /** Says how long the load took, when it was long enough to report progress. */
    void finish() {
        if (reported) {
            sink.accept(String.format(Locale.ROOT, "loaded %s: %s in %s", what, gigabytes(doneBytes),
                    clock(nanoClock.getAsLong() - start)));
        }
    }

    private static String gigabytes(long bytes) {
        return String.format(Locale.ROOT, "%.2f GB", bytes / 1e9);
    }

    private static String clock(long nanos) {
        long s = Duration.ofNanos(nanos).toSeconds();
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
