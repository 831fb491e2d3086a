package dev.finetune4j.core.io;

import java.io.IOException;

/**
 * File work that a thread's pending interrupt must not break. A {@code FileChannel} (behind {@code Files}' streams
 * too) closes itself, with a {@code ClosedByInterruptException} that has no message, when an operation runs on an
 * interrupted thread: loading a model or saving an adapter on a thread that was interrupted earlier (a cancelled
 * task, a request whose client went away, a trainer stopped after its step) failed with "null". The work runs with the
 * interrupt cleared, and the interrupt is put back afterwards for the caller to act on. An interrupt that arrives
 * during the work still stops it.
 */
public final class InterruptSafe {
    private InterruptSafe() {
    }

    /**
     * File work that may throw.
     *
     * @param <T> its result
     */
    @FunctionalInterface
    public interface IoWork<T> {
        /**
         * Does the work.
         *
         * @return the result
         * @throws IOException when the files fail
         */
        T run() throws IOException;
    }

    /**
     * Runs {@code work} with the calling thread's interrupt flag cleared, and sets it again afterwards if it was set.
     *
     * @param work the file work
     * @param <T>  its result
     * @return what {@code work} returned
     * @throws IOException what {@code work} threw
     */
    public static <T> T call(IoWork<T> work) throws IOException {
        boolean interrupted = Thread.interrupted();
        try {
            return work.run();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
