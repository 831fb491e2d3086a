package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.TokenLogprobs;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One generation request for an {@link InferenceEngine}.
 *
 * @param adapter       the name of a loaded adapter, or null for the base model
 * @param promptTokens  the prompt's token ids (at least one)
 * @param sampling      max new tokens, stop tokens, greedy or temperature/top-k/top-p, penalties, logit bias and seed;
 *                      {@link GenerationConfig#useCache()} is ignored (the engine always uses its KV cache)
 * @param stopSequences token sequences that end generation when the generated tokens end with one (removed from
 *                      {@link Completion#tokens()}); an empty list for none
 * @param timeout       the longest the request may take from submission, or null for the engine's default; over
 *                      146 years means no limit
 * @param topLogprobs   {@link #NO_LOGPROBS}, or 0 to {@link TokenLogprobs#MAX_TOP}: each generated token comes with its
 *                      log-probability and that many of the most likely tokens at its position
 *                      ({@link TokenListener#onToken(long, TokenLogprobs)}, {@link Completion#logprobs()}). They are
 *                      the model's own (the log-softmax of its logits before the bias, penalties and temperature, as
 *                      {@link TokenLogprobs} says). A request that asks reads its row's logits back to the host at
 *                      every step (a greedy one is otherwise chosen on the device) and pays one pass over the
 *                      vocabulary for them; the other requests of the batch compute nothing more for it.
 */
public record CompletionRequest(String adapter, long[] promptTokens, GenerationConfig sampling,
                                List<long[]> stopSequences, Duration timeout, int topLogprobs) {

    /** {@link #topLogprobs()} of a request that asks for no log-probabilities. */
    public static final int NO_LOGPROBS = -1;

    /**
     * Checks the fields and keeps copies of the arrays.
     *
     * @throws NullPointerException     when promptTokens, sampling or stopSequences is null
     * @throws IllegalArgumentException when the prompt is empty, a stop sequence is null or empty, the timeout is not
     *                                  positive or topLogprobs is outside [-1, 20]
     */
    public CompletionRequest {
        Objects.requireNonNull(promptTokens, "promptTokens");
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(stopSequences, "stopSequences (use List.of() for none)");
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("promptTokens is empty: give at least one token (for example BOS)");
        }
        promptTokens = promptTokens.clone();
        List<long[]> stops = new ArrayList<>(stopSequences.size());
        for (int i = 0; i < stopSequences.size(); i++) {
            long[] s = stopSequences.get(i);
            if (s == null || s.length == 0) {
                throw new IllegalArgumentException("stop sequence " + i + " is " + (s == null ? "null" : "empty")
                        + ": give at least one token per stop sequence");
            }
            stops.add(s.clone());
        }
        stopSequences = List.copyOf(stops);
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new IllegalArgumentException("timeout must be positive (or null for the engine's default), got " + timeout);
        }
        if (topLogprobs < NO_LOGPROBS || topLogprobs > TokenLogprobs.MAX_TOP) {
            throw new IllegalArgumentException("topLogprobs must be " + NO_LOGPROBS + " (none) or 0 to " + TokenLogprobs.MAX_TOP
                    + ", got " + topLogprobs);
        }
    }

    /**
     * A request without log-probabilities.
     *
     * @param adapter       the name of a loaded adapter, or null for the base model
     * @param promptTokens  the prompt's token ids
     * @param sampling      how to choose tokens
     * @param stopSequences token sequences that end generation
     * @param timeout       the request's time limit, or null for the engine's default
     */
    public CompletionRequest(String adapter, long[] promptTokens, GenerationConfig sampling, List<long[]> stopSequences,
                             Duration timeout) {
        this(adapter, promptTokens, sampling, stopSequences, timeout, NO_LOGPROBS);
    }

    /**
     * A request without stop sequences that uses the engine's default timeout.
     *
     * @param adapter      the name of a loaded adapter, or null for the base model
     * @param promptTokens the prompt's token ids
     * @param sampling     how to choose tokens
     */
    public CompletionRequest(String adapter, long[] promptTokens, GenerationConfig sampling) {
        this(adapter, promptTokens, sampling, List.of(), null, NO_LOGPROBS);
    }

    /**
     * The prompt (a copy).
     *
     * @return the prompt's token ids
     */
    @Override
    public long[] promptTokens() {
        return promptTokens.clone();
    }

    /**
     * The stop sequences (copies).
     *
     * @return the stop sequences
     */
    @Override
    public List<long[]> stopSequences() {
        return stopSequences.stream().map(long[]::clone).toList();
    }
}
