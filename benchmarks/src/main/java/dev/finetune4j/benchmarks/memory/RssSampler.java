package dev.finetune4j.benchmarks.memory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The peak anonymous memory of this process (RssAnon from /proc/self/status: the heap and native allocations, not
 * mapped files), sampled every 2 ms by a daemon thread from {@link #start} to {@link #stop}.
 */
final class RssSampler {
    private final AtomicLong peak = new AtomicLong();
    private final Thread thread;

    private RssSampler() {
        thread = Thread.ofPlatform().daemon().start(() -> {
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

    /** Starts sampling. */
    static RssSampler start() {
        return new RssSampler();
    }

    /** Stops sampling and returns the largest RssAnon seen, in bytes (0 where /proc is absent). */
    long stop() {
        thread.interrupt();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return Math.max(peak.get(), rssAnonBytes());
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
