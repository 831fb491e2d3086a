package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.TokenLogprobs;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The result of one request.
 *
 * @param tokens           the generated tokens only (not the prompt); a stop sequence that ended the request is
 *                         removed, a stop token of {@link dev.finetune4j.core.generate.GenerationConfig#stopTokens()}
 *                         is kept (as {@link dev.finetune4j.core.generate.Generator} keeps it); the tokens so far
 *                         for {@link FinishReason#CANCELLED} and {@link FinishReason#TIMEOUT}
 * @param finishReason     why generation ended
 * @param promptTokens     the prompt's length in tokens
 * @param timeToFirstToken from submission to the first generated token, or null when none was generated
 * @param total            from submission to the end of the request
 * @param logprobs         one per token of {@code tokens} when the request asked for log-probabilities
 *                         ({@link CompletionRequest#topLogprobs()}), else empty
 */
public record Completion(long[] tokens, FinishReason finishReason, int promptTokens, Duration timeToFirstToken,
                         Duration total, List<TokenLogprobs> logprobs) {

    /**
     * Checks the fields and keeps a copy of the tokens and log-probabilities.
     *
     * @throws NullPointerException     when tokens, finishReason, total or logprobs is null
     * @throws IllegalArgumentException when there are log-probabilities, but not one per token
     */
    public Completion {
        tokens = tokens.clone();
        Objects.requireNonNull(finishReason, "finishReason");
        Objects.requireNonNull(total, "total");
        logprobs = List.copyOf(logprobs);
        if (!logprobs.isEmpty() && logprobs.size() != tokens.length) {
            throw new IllegalArgumentException(logprobs.size() + " log-probabilities for " + tokens.length + " tokens: give "
                    + "one per token, or none");
        }
    }

    /**
     * A result without log-probabilities.
     *
     * @param tokens           the generated tokens
     * @param finishReason     why generation ended
     * @param promptTokens     the prompt's length in tokens
     * @param timeToFirstToken from submission to the first generated token, or null
     * @param total            from submission to the end of the request
     */
    public Completion(long[] tokens, FinishReason finishReason, int promptTokens, Duration timeToFirstToken, Duration total) {
        this(tokens, finishReason, promptTokens, timeToFirstToken, total, List.of());
    }

    /**
     * The generated tokens (a copy).
     *
     * @return the generated token ids
     */
    @Override
    public long[] tokens() {
        return tokens.clone();
    }
}
