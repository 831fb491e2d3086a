package dev.finetune4j.benchmarks.memory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The peak anonymous memory of this process (RssAnon from /proc/self/status: the heap and native allocations, not
 * memory-mapped files), sampled every 2 ms by a daemon thread from construction until {@link #close()}.
 */
public final class PeakRssAnon implements AutoCloseable {
    private final AtomicLong peak = new AtomicLong();
    private final Thread sampler;

    /** Starts sampling. */
    public PeakRssAnon() {
        sampler = Thread.ofPlatform().daemon().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peak.accumulateAndGet(rssAnonBytes(), Math::max);
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /**
     * The largest RssAnon seen so far, including now.
     *
     * @return bytes
     */
    public long bytes() {
        return peak.accumulateAndGet(rssAnonBytes(), Math::max);
    }

    /**
     * The peak in GiB.
     *
     * @return {@link #bytes()} / 2^30
     */
    public double gib() {
        return bytes() / (double) (1L << 30);
    }

    /** Stops sampling. */
    @Override
    public void close() throws InterruptedException {
        sampler.interrupt();
        sampler.join();
    }

    /** RssAnon of this process in bytes (0 where /proc is absent). */
    private static long rssAnonBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("RssAnon:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }
}
