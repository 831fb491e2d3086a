package dev.finetune4j.core.generate;

import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * How to pick tokens. Greedy when {@code temperature} is 0; otherwise sampled after the processors are applied
 * in Hugging Face's order: (OpenAI's logit bias, first as vLLM places it,) repetition penalty, (OpenAI's presence and
 * frequency penalties, as vLLM places them), temperature, top-k, top-p. The logit bias and the penalties change the
 * greedy choice too.
 *
 * @param maxNewTokens      tokens to add at most
 * @param temperature       0 for greedy, else the softmax temperature
 * @param topK              keep the k most likely tokens (0: off)
 * @param topP              keep the smallest set whose probability reaches p (1: off)
 * @param repetitionPenalty divide positive (multiply negative) logits of tokens already present (1: off)
 * @param presencePenalty   subtracted from the logit of every token generated at least once (0: off)
 * @param frequencyPenalty  subtracted from a token's logit once per time it was generated (0: off)
 * @param logitBias         OpenAI's {@code logit_bias}: token id to a value added to its logit before anything else
 *                          (empty: off); ids at least 0 (the vocabulary's bound is checked against the logits), values
 *                          finite in [-100, 100]
 * @param constraint        a rule on what the output may be, such as JSON mode (null: none); its state masks the
 *                          logits right before every choice (a masked token stays out whatever the bias and penalties
 *                          added) and needs {@code stopTokens} to end on
 * @param stopTokens        ids that end generation (included in the output)
 * @param useCache          reuse keys/values of earlier positions (same tokens, much faster)
 * @param seed              seed of the sampling stream
 */
public record GenerationConfig(int maxNewTokens, float temperature, int topK, float topP, float repetitionPenalty,
                               float presencePenalty, float frequencyPenalty, Map<Long, Float> logitBias,
                               OutputConstraint constraint, Set<Long> stopTokens, boolean useCache, long seed) {
    /** The largest bias magnitude, OpenAI's: -100 bans a token in practice, +100 forces it. */
    public static final float MAX_LOGIT_BIAS = 100f;


    /** Checks every value's range (see the components) and copies the logit bias and the stop tokens, refusing null. */
    public GenerationConfig {
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("maxNewTokens must be >= 0, got " + maxNewTokens);
        }
        if (!(temperature >= 0 && temperature < Float.POSITIVE_INFINITY)) { // NaN fails every comparison
            throw new IllegalArgumentException("temperature must be finite and >= 0 (0 = greedy), got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (!(repetitionPenalty > 0 && repetitionPenalty < Float.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("repetitionPenalty must be finite and > 0 (1 = off), got " + repetitionPenalty);
        }
        if (!Float.isFinite(presencePenalty) || !Float.isFinite(frequencyPenalty)) {
            throw new IllegalArgumentException("presencePenalty and frequencyPenalty must be finite (0 = off), got "
                    + presencePenalty + " and " + frequencyPenalty);
        }
        if (logitBias == null) {
            throw new IllegalArgumentException("logitBias must be a map of token id to bias (Map.of() for none), got null");
        }
        for (Map.Entry<Long, Float> e : logitBias.entrySet()) {
            Long id = e.getKey();
            Float bias = e.getValue();
            if (id == null || id < 0) {
                throw new IllegalArgumentException("logitBias has token id " + id + ": ids are >= 0");
            }
            if (bias == null || !(Math.abs(bias) <= MAX_LOGIT_BIAS)) { // NaN fails the comparison
                throw new IllegalArgumentException("logitBias of token " + id + " is " + bias + ": biases are finite, in [-"
                        + MAX_LOGIT_BIAS + ", " + MAX_LOGIT_BIAS + "]");
            }
        }
        logitBias = Map.copyOf(logitBias);
        if (stopTokens == null || stopTokens.stream().anyMatch(Objects::isNull)) {
            throw new IllegalArgumentException("stopTokens must be a set of token ids (Set.of() for none) without null, "
                    + "got " + stopTokens);
        }
        stopTokens = Set.copyOf(stopTokens);
        if (constraint != null && stopTokens.isEmpty()) {
            throw new IllegalArgumentException("a constraint on the output needs stopTokens to end on once the output is "
                    + "complete: give the tokenizer's end-of-sequence id (and any other id that ends a turn)");
        }
    }

    /**
     * Whether the next token is the argmax of the logits as the model gives them (greedy, no penalty, no bias),
     * which generation then chooses on the model's device, reading back two numbers per row instead of the logits.
     *
     * @return true when the temperature is 0, the repetition penalty 1, the presence and frequency penalties 0 and
     *         there is no logit bias and no constraint
     */
    public boolean choosesArgmax() {
        return temperature == 0 && repetitionPenalty == 1f && presencePenalty == 0 && frequencyPenalty == 0
                && logitBias.isEmpty() && constraint == null;
    }

    /**
     * This configuration with another seed: several samples of one prompt (OpenAI's {@code n}) draw from different
     * streams.
     *
     * @param newSeed the seed of the sampling stream
     * @return the configuration, every other value equal
     */
    public GenerationConfig withSeed(long newSeed) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, presencePenalty,
                frequencyPenalty, logitBias, constraint, stopTokens, useCache, newSeed);
    }

    /**
     * Greedy decoding of up to {@code maxNewTokens} tokens with the KV cache.
     *
     * @param maxNewTokens the most tokens to add, {@code >= 0}
     * @return the configuration
     */
    public static GenerationConfig greedy(int maxNewTokens) {
        return builder().maxNewTokens(maxNewTokens).build();
    }

    /**
     * A builder with greedy, cached defaults: 32 new tokens, temperature 0, no top-k, top-p, penalty or logit bias, no
     * stop tokens, seed 0.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder with greedy, cached defaults. */
    public static final class Builder {
        private Builder() {
        }

        private int maxNewTokens = 32;
        private float temperature;
        private int topK;
        private float topP = 1f;
        private float repetitionPenalty = 1f;
        private float presencePenalty;
        private float frequencyPenalty;
        private Map<Long, Float> logitBias = Map.of();
        private OutputConstraint constraint;
        private Set<Long> stopTokens = Set.of();
        private boolean useCache = true;
        private long seed;

        /**
         * The most tokens to add (default 32).
         *
         * @param v the count, {@code >= 0}
         * @return this builder
         */
        public Builder maxNewTokens(int v) {
            maxNewTokens = v;
            return this;
        }

        /**
         * The softmax temperature (default 0: greedy).
         *
         * @param v 0 for greedy, else finite and {@code > 0}
         * @return this builder
         */
        public Builder temperature(float v) {
            temperature = v;
            return this;
        }

        /**
         * Keeps only the k most likely tokens (default 0: off).
         *
         * @param v k, {@code >= 0}
         * @return this builder
         */
        public Builder topK(int v) {
            topK = v;
            return this;
        }

        /**
         * Keeps the smallest set of tokens whose probability reaches p (default 1: off).
         *
         * @param v p, in (0, 1]
         * @return this builder
         */
        public Builder topP(float v) {
            topP = v;
            return this;
        }

        /**
         * Divides positive and multiplies negative logits of tokens already present (default 1: off).
         *
         * @param v the penalty, finite and {@code > 0}
         * @return this builder
         */
        public Builder repetitionPenalty(float v) {
            repetitionPenalty = v;
            return this;
        }

        /**
         * OpenAI's presence penalty: subtracted from the logit of every token generated so far (not the prompt's)
         * at least once (default 0: off; OpenAI takes -2 to 2).
         *
         * @param v the penalty, finite; negative values favour repeating
         * @return this builder
         */
        public Builder presencePenalty(float v) {
            presencePenalty = v;
            return this;
        }

        /**
         * OpenAI's frequency penalty: subtracted from a token's logit once per time it was generated so far (not in
         * the prompt) (default 0: off; OpenAI takes -2 to 2).
         *
         * @param v the penalty, finite; negative values favour repeating
         * @return this builder
         */
        public Builder frequencyPenalty(float v) {
            frequencyPenalty = v;
            return this;
        }

        /**
         * OpenAI's logit bias: each value is added to its token's logit before every other processor, so it moves the
         * greedy choice too (default none). -100 bans a token in practice, +100 forces it.
         *
         * @param v token id (at least 0, within the model's vocabulary) to bias (finite, in [-100, 100])
         * @return this builder
         */
        public Builder logitBias(Map<Long, Float> v) {
            logitBias = v;
            return this;
        }

        /**
         * A rule on what the output may be, such as JSON mode (default none): its state masks the logits before every
         * choice, so the output keeps to it. Needs {@link #stopTokens} to end on.
         *
         * @param v the constraint, e.g. a {@link dev.finetune4j.core.generate.json.JsonOutput}; null for none
         * @return this builder
         */
        public Builder constraint(OutputConstraint v) {
            constraint = v;
            return this;
        }

        /**
         * Token ids that end generation, included in the output (default none).
         *
         * @param v the ids, e.g. the tokenizer's EOS
         * @return this builder
         */
        public Builder stopTokens(Set<Long> v) {
            stopTokens = v;
            return this;
        }

        /**
         * Reuses the keys and values of earlier positions (default true); false recomputes the whole sequence per
         * token.
         *
         * @param v whether to use the KV cache
         * @return this builder
         */
        public Builder useCache(boolean v) {
            useCache = v;
            return this;
        }

        /**
         * The seed of the sampling stream (default 0).
         *
         * @param v the seed
         * @return this builder
         */
        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /**
         * Builds the configuration; the values are checked here.
         *
         * @return the configuration
         */
        public GenerationConfig build() {
            return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, presencePenalty,
                    frequencyPenalty, logitBias, constraint, stopTokens, useCache, seed);
        }
    }
}
