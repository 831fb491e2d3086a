package dev.finetune4j.core.generate;

import java.util.Set;

/**
 * A rule on what a generation may write, such as JSON mode ({@link dev.finetune4j.core.generate.json.JsonOutput}):
 * before every token choice its state masks the tokens that would break the rule, and after it takes the chosen one.
 * Set it with {@link GenerationConfig.Builder#constraint}; the {@link Generator} and the serving engine both apply it
 * in {@link LogitsProcessing#choose}.
 *
 * <p>Thread safety: a constraint is immutable and shared by the generations that use it; each generation has its own
 * {@link State}, used by one thread at a time.
 */
public interface OutputConstraint {

    /**
     * The state at the start of one generation.
     *
     * @param endTokens the ids that end the generation ({@link GenerationConfig#stopTokens()}), which the state allows
     *                  exactly when the output is complete
     * @return a new state
     */
    State start(Set<Long> endTokens);

    /** One generation's progress under the rule. Not thread-safe. */
    interface State {

        /**
         * Sets the logit of every token that may not come next to negative infinity.
         *
         * @param logits one row of next-token logits (V), changed in place
         */
        void maskLogits(float[] logits);

        /**
         * Advances past the chosen token.
         *
         * @param token the chosen id, one that {@link #maskLogits} left open
         * @throws IllegalArgumentException when the token breaks the rule
         */
        void accept(long token);

        /**
         * Whether the output so far is complete under the rule (an end token may come now).
         *
         * @return true when complete
         */
        boolean isComplete();
    }
}
