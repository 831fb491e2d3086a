package dev.finetune4j.peft.serve;

import java.time.Duration;

/**
 * Thrown by {@link InferenceEngine#submit} when the queue of waiting requests is full; retry after
 * {@link #retryAfter()} (an HTTP server answers 429 with {@code Retry-After}).
 */
public final class EngineOverloadedException extends RuntimeException {
    /** The estimated wait before the queue has room. */
    private final Duration retryAfter;

    /**
     * A refusal because the queue is full.
     *
     * @param message    what is full and what to do
     * @param retryAfter an estimate of when the queue has room again
     */
    public EngineOverloadedException(String message, Duration retryAfter) {
        super(message);
        this.retryAfter = retryAfter;
    }

    /**
     * An estimate of when the queue has room again, from the recent rate of completed requests.
     *
     * @return a positive duration
     */
    public Duration retryAfter() {
        return retryAfter;
    }
}
