package dev.finetune4j.peft.serve;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The counters behind {@link EngineMetrics}: ended requests by finish reason and failed ones, prompt and generated
 * tokens (generated ones with their times, for tokens per second over a sliding window), time to first token,
 * inter-token latency, per-adapter request counts.
 *
 * <p>Thread safety: every method is synchronized (the decode thread writes, any thread reads).
 */
final class EngineStats {
    /** The window tokens per second is measured over. */
    static final long RATE_WINDOW_NANOS = 10_000_000_000L;
    private static final int LATENCY_WINDOW = 4096;

    private final LatencyWindow timeToFirstToken = new LatencyWindow(LATENCY_WINDOW);
    private final LatencyWindow interToken = new LatencyWindow(LATENCY_WINDOW);
    private final LatencyWindow requestDuration = new LatencyWindow(256);
    private final Map<String, Long> requestsByAdapter = new TreeMap<>();
    /** {time, tokens} of recent decoding steps, oldest first. */
    private final Deque<long[]> recentSteps = new ArrayDeque<>();
    private final long startNanos;
    private final Map<FinishReason, Long> completedByReason = new EnumMap<>(FinishReason.class);
    private long completed;
    private long failed;
    private long promptTokens;
    private long tokens;

    EngineStats(long startNanos) {
        this.startNanos = startNanos;
    }

    synchronized void submitted(String adapter) {
        requestsByAdapter.merge(adapter == null ? "" : adapter, 1L, Long::sum);
    }

    synchronized void firstToken(long nanos) {
        timeToFirstToken.add(nanos);
    }

    synchronized void interToken(long nanos) {
        interToken.add(nanos);
    }

    /** One decoding step at {@code now} that produced {@code count} tokens. */
    synchronized void tokens(long now, int count) {
        tokens += count;
        recentSteps.addLast(new long[]{now, count});
        while (!recentSteps.isEmpty() && recentSteps.peekFirst()[0] < now - RATE_WINDOW_NANOS) {
            recentSteps.removeFirst();
        }
    }

    /** A request with a prompt of {@code promptLength} tokens ended for {@code reason} after {@code durationNanos}. */
    synchronized void completed(FinishReason reason, int promptLength, long durationNanos) {
        completed++;
        completedByReason.merge(reason, 1L, Long::sum);
        promptTokens += promptLength;
        requestDuration.add(durationNanos);
    }

    /** A request with a prompt of {@code promptLength} tokens failed with an error. */
    synchronized void failed(int promptLength) {
        failed++;
        promptTokens += promptLength;
    }

    /** The mean duration of recent requests in nanoseconds, or 0 before the first one completed. */
    synchronized double meanRequestNanos() {
        return requestDuration.summary().meanMillis() * 1e6;
    }

    synchronized EngineMetrics snapshot(long now, int queueDepth, int running, long kvInUse, long kvBudget) {
        long windowStart = Math.max(startNanos, now - RATE_WINDOW_NANOS);
        long inWindow = recentSteps.stream().filter(s -> s[0] >= windowStart).mapToLong(s -> s[1]).sum();
        double seconds = Math.max(1e-3, (now - windowStart) / 1e9);
        return new EngineMetrics(completed, completedByReason, failed, promptTokens, tokens, inWindow / seconds, timeToFirstToken.summary(), interToken.summary(),
                queueDepth, running, requestsByAdapter, kvInUse, kvBudget);
    }
}
