package dev.finetune4j.peft.serve;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * A snapshot of an {@link InferenceEngine}'s counters and latencies.
 *
 * @param completedRequests   requests that ended (any finish reason) since the engine started
 * @param completedByReason   those per finish reason (every reason present, 0 for none)
 * @param failedRequests      requests that failed with an error (a step or a listener threw) since the engine started
 * @param promptTokens        prompt tokens of the requests that ended or failed since the engine started
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
public record EngineMetrics(long completedRequests, Map<FinishReason, Long> completedByReason, long failedRequests,
                            long promptTokens, long generatedTokens, double tokensPerSecond,
                            LatencySummary timeToFirstToken, LatencySummary interTokenLatency,
                            int queueDepth, int runningRequests, Map<String, Long> requestsByAdapter,
                            long kvCacheTokensInUse, long kvCacheTokensBudget) {

    /** Keeps immutable copies of the counts, with every finish reason present. */
    public EngineMetrics {
        Map<FinishReason, Long> byReason = new EnumMap<>(FinishReason.class);
        for (FinishReason reason : FinishReason.values()) {
            byReason.put(reason, completedByReason.getOrDefault(reason, 0L));
        }
        completedByReason = Collections.unmodifiableMap(byReason);
        requestsByAdapter = Map.copyOf(requestsByAdapter);
    }
}
