package dev.finetune4j.peft.serve;

import java.time.Duration;
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
 */
public record Completion(long[] tokens, FinishReason finishReason, int promptTokens, Duration timeToFirstToken,
                         Duration total) {

    /**
     * Checks the fields and keeps a copy of the tokens.
     *
     * @throws NullPointerException when tokens, finishReason or total is null
     */
    public Completion {
        tokens = tokens.clone();
        Objects.requireNonNull(finishReason, "finishReason");
        Objects.requireNonNull(total, "total");
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
