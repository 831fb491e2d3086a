package dev.finetune4j.samples.cli;

import dev.finetune4j.samples.quickstart.ProgressLine;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress of a long answering pass ({@code eval --model}) as lines on standard error: after the first batch (so a
 * slow model shows its pace at once), then at most every {@link #EVERY}, and at the end; each with the time spent
 * and an estimate of what is left at the pace so far.
 */
final class AnswerProgress {
    static final Duration EVERY = Duration.ofSeconds(10);

    private final PrintWriter err;
    private final int total;
    private final LongSupplier nanoClock;
    private final long start;
    private long lastLine;
    private boolean printed;

    AnswerProgress(PrintWriter err, int total, LongSupplier nanoClock) {
        this.err = err;
        this.total = total;
        this.nanoClock = nanoClock;
        this.start = nanoClock.getAsLong();
    }

    /** Reports that {@code done} of the prompts have their answers. */
    void answered(int done) {
        long now = nanoClock.getAsLong();
        if (printed && done < total && now - lastLine < EVERY.toNanos()) {
            return;
        }
        long spent = now - start;
        long left = done == 0 ? 0 : Math.round((double) spent / done * (total - done));
        String took = ProgressLine.clock(Duration.ofNanos(spent));
        String rest = done < total ? ", about " + ProgressLine.clock(Duration.ofNanos(left)) + " left" : "";
        err.println(String.format(Locale.ROOT, "answered %d of %d prompts in %s%s", done, total, took, rest));
        err.flush();
        printed = true;
        lastLine = now;
    }
}
