package dev.finetune4j.peft.serve;

import java.util.Map;

/**
 * A snapshot of an {@link InferenceEngine}'s counters and latencies.
 *
 * @param completedRequests   requests that ended (any finish reason) since the engine started
 * @param generatedTokens     tokens generated since the engine started
 * @param tokensPerSecond     generated tokens per second over the engine's recent window (about the last 10 s)
 * @param timeToFirstToken    from submission to the first token, over recent requests
 * @param interTokenLatency   between consecutive tokens of one request, over recent tokens
 * @param queueDepth          requests waiting for admission
 * @param runningRequests     requests in the running batch
 * @param requestsByAdapter   submitted requests per adapter name since the engine started; {@code ""} is the base
 * @param kvCacheTokensInUse  KV cache positions reserved by running requests
 * @param kvCacheTokensBudget the KV cache budget in positions ({@link InferenceEngine.Builder#kvCacheBudgetTokens})
 */
public record EngineMetrics(long completedRequests, long generatedTokens, double tokensPerSecond,
                            LatencySummary timeToFirstToken, LatencySummary interTokenLatency,
                            int queueDepth, int runningRequests, Map<String, Long> requestsByAdapter,
                            long kvCacheTokensInUse, long kvCacheTokensBudget) {

    /** Keeps an immutable copy of the per-adapter counts. */
    public EngineMetrics {
        requestsByAdapter = Map.copyOf(requestsByAdapter);
    }
}
