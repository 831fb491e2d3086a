package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One generation request for an {@link InferenceEngine}.
 *
 * @param adapter       the name of a loaded adapter, or null for the base model
 * @param promptTokens  the prompt's token ids (at least one)
 * @param sampling      max new tokens, stop tokens, greedy or temperature/top-k/top-p, repetition penalty and seed;
 *                      {@link GenerationConfig#useCache()} is ignored (the engine always uses its KV cache)
 * @param stopSequences token sequences that end generation when the generated tokens end with one (removed from
 *                      {@link Completion#tokens()}); an empty list for none
 * @param timeout       the longest the request may take from submission, or null for the engine's default; over
 *                      146 years means no limit
 */
public record CompletionRequest(String adapter, long[] promptTokens, GenerationConfig sampling,
                                List<long[]> stopSequences, Duration timeout) {

    /**
     * Checks the fields and keeps copies of the arrays.
     *
     * @throws NullPointerException     when promptTokens, sampling or stopSequences is null
     * @throws IllegalArgumentException when the prompt is empty, a stop sequence is null or empty, or the timeout is
     *                                  not positive
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
    }

    /**
     * A request without stop sequences that uses the engine's default timeout.
     *
     * @param adapter      the name of a loaded adapter, or null for the base model
     * @param promptTokens the prompt's token ids
     * @param sampling     how to choose tokens
     */
    public CompletionRequest(String adapter, long[] promptTokens, GenerationConfig sampling) {
        this(adapter, promptTokens, sampling, List.of(), null);
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
