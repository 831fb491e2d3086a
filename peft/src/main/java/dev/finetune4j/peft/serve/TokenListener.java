package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.TokenLogprobs;

/**
 * Receives a request's generated tokens as they are chosen: in order, once per token (the tokens of a stop
 * sequence included, although {@link Completion#tokens()} drops them), on the engine's decode thread. Keep it
 * short (hand the token to another thread for slow work): the whole batch waits while it runs. A listener that
 * throws (an exception, or an error such as a failed assertion; not a {@link VirtualMachineError}) cancels its own
 * request only.
 */
@FunctionalInterface
public interface TokenListener {
    /** A listener that ignores every token, for callers that only want the {@link Completion}. */
    TokenListener NONE = t -> { };

    /**
     * Called once per generated token.
     *
     * @param tokenId the token's id in the model's vocabulary
     */
    void onToken(long tokenId);

    /**
     * Called by the engine once per generated token; this default passes the token to {@link #onToken(long)}. A
     * listener of a request that asks for log-probabilities ({@link CompletionRequest#topLogprobs()}) overrides it to
     * receive them with each token.
     *
     * @param tokenId  the token's id in the model's vocabulary
     * @param logprobs its log-probability and the most likely tokens at its position, or null when the request does
     *                 not ask for them
     */
    default void onToken(long tokenId, TokenLogprobs logprobs) {
        onToken(tokenId);
    }
}
