package dev.finetune4j.samples.cli;

import dev.finetune4j.samples.quickstart.ProgressLine;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Progress of a long pass (answering prompts in {@code eval --model}, writing a GGUF file) as lines on standard
 * error: after the first report (so a slow pass shows its pace at once), then at most every {@link #EVERY}, and at
 * the end; each says what is done, the time spent and an estimate of what is left at the pace so far.
 */
final class WorkProgress {
    static final Duration EVERY = Duration.ofSeconds(10);

    /** What {@code done} of {@code total} units means, for the line: "answered 8 of 100 prompts". */
    @FunctionalInterface
    interface Done {
        String describe(long done, long total);
    }

    private final PrintWriter err;
    private final Done done;
    private final LongSupplier nanoClock;
    private final long start;
    private long lastLine;
    private boolean printed;

    /** Starts the clock: the pass begins now. */
    WorkProgress(PrintWriter err, Done done, LongSupplier nanoClock) {
        this.err = err;
        this.done = done;
        this.nanoClock = nanoClock;
        this.start = nanoClock.getAsLong();
    }

    /** Reports that {@code count} of the {@code total} units are done. */
    void reached(long count, long total) {
        long now = nanoClock.getAsLong();
        if (printed && count < total && now - lastLine < EVERY.toNanos()) {
            return;
        }
        long spent = now - start;
        long left = count == 0 ? 0 : Math.round((double) spent / count * (total - count));
        String took = ProgressLine.clock(Duration.ofNanos(spent));
        String rest = count < total ? ", about " + ProgressLine.clock(Duration.ofNanos(left)) + " left" : "";
        err.println(done.describe(count, total) + " in " + took + rest);
        err.flush();
        printed = true;
        lastLine = now;
    }
}
