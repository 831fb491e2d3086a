package dev.finetune4j.samples.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Ctrl-C or {@code kill} (SIGINT, SIGTERM) during {@code train}: instead of losing the steps since the last
 * checkpoint, the JVM's shutdown waits while the trainer finishes its current step and saves it (the trainer stops
 * when its thread is interrupted) and the command writes the adapter; {@code train --resume} continues from there.
 * The wait is bounded by {@link #LONGEST_WAIT}: a step that takes longer is lost, the last checkpoint stays.
 *
 * <p>Open it on the training thread around the training and the saving; close it when both are done.
 */
final class StopAfterStep implements AutoCloseable {
    static final Duration LONGEST_WAIT = Duration.ofMinutes(2);

    private final CountDownLatch done = new CountDownLatch(1);
    private final Thread hook;

    /** @param err where the hook says what it waits for */
    StopAfterStep(PrintWriter err) {
        Thread worker = Thread.currentThread();
        hook = new Thread(() -> {
            err.println("stopping: the current step ends and is saved as a checkpoint (at most "
                    + LONGEST_WAIT.toMinutes() + " minutes); continue the run with train --resume");
            err.flush();
            worker.interrupt();
            try {
                done.await(LONGEST_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "finetune4j-train-stop");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Training and saving are done: a shutdown under way may finish now. */
    @Override
    public void close() {
        done.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs, and returns now that the latch is open
        }
    }
}
