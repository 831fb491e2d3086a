package dev.finetune4j.core.generate;

import java.util.Set;

/**
 * How to pick tokens. Greedy when {@code temperature} is 0; otherwise sampled after the processors are applied
 * in Hugging Face's order: repetition penalty, temperature, top-k, top-p.
 *
 * @param maxNewTokens      tokens to add at most
 * @param temperature       0 for greedy, else the softmax temperature
 * @param topK              keep the k most likely tokens (0: off)
 * @param topP              keep the smallest set whose probability reaches p (1: off)
 * @param repetitionPenalty divide positive (multiply negative) logits of tokens already present (1: off)
 * @param stopTokens        ids that end generation (included in the output)
 * @param useCache          reuse keys/values of earlier positions (same tokens, much faster)
 * @param seed              seed of the sampling stream
 */
public record GenerationConfig(int maxNewTokens, float temperature, int topK, float topP, float repetitionPenalty,
                               Set<Long> stopTokens, boolean useCache, long seed) {

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
        stopTokens = Set.copyOf(stopTokens);
    }

    /** Greedy decoding of up to {@code maxNewTokens} tokens with the KV cache. */
    public static GenerationConfig greedy(int maxNewTokens) {
        return builder().maxNewTokens(maxNewTokens).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder with greedy, cached defaults. */
    public static final class Builder {
        private int maxNewTokens = 32;
        private float temperature;
        private int topK;
        private float topP = 1f;
        private float repetitionPenalty = 1f;
        private Set<Long> stopTokens = Set.of();
        private boolean useCache = true;
        private long seed;

        public Builder maxNewTokens(int v) {
            maxNewTokens = v;
            return this;
        }

        public Builder temperature(float v) {
            temperature = v;
            return this;
        }

        public Builder topK(int v) {
            topK = v;
            return this;
        }

        public Builder topP(float v) {
            topP = v;
            return this;
        }

        public Builder repetitionPenalty(float v) {
            repetitionPenalty = v;
            return this;
        }

        public Builder stopTokens(Set<Long> v) {
            stopTokens = v;
            return this;
        }

        public Builder useCache(boolean v) {
            useCache = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public GenerationConfig build() {
            return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, stopTokens, useCache, seed);
        }
    }
}
