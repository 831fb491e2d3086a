package dev.finetune4j.peft.serve;

/** Why a completion ended. */
public enum FinishReason {
    /** A stop token of the sampling configuration or one of the request's stop sequences was generated. */
    STOP,
    /** The request's {@code maxNewTokens} was reached, or the model's positions ({@code max_position_embeddings}). */
    LENGTH,
    /** {@link CompletionHandle#cancel()}, a listener that threw, or {@link InferenceEngine#close()}. */
    CANCELLED,
    /** The request's timeout (or the engine's default timeout) passed before it finished. */
    TIMEOUT
}
