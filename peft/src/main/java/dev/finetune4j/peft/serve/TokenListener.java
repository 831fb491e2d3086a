package dev.finetune4j.peft.serve;

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
}
