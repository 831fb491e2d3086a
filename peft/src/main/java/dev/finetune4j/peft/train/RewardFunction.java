package dev.finetune4j.peft.train;

import java.util.List;

/**
 * A reward for GRPO written in Java: a score of one completion of a prompt, as text (TRL's {@code reward_funcs}).
 * It can call any validator: a JSON schema check, a business rule, a length target. Several are combined with
 * {@link GrpoConfig#rewardWeights()}; the advantage of a completion comes from the weighted sum.
 *
 * <pre>{@code
 * RewardFunction validJson = RewardFunction.named("valid_json", (prompt, completion) -> isJson(completion) ? 1 : 0);
 * }</pre>
 *
 * <p>A score must be a finite number; an exception or a NaN/infinite score stops training with a message naming the
 * function, the prompt's row and the completion. GRPO calls {@link #scoreAll} on the training thread, once per
 * micro-batch and function; its default scores one completion after another with {@link #score}, and a function that
 * is faster on a batch (a {@link RewardModel}) overrides it.
 */
@FunctionalInterface
public interface RewardFunction {

    /**
     * The reward of one completion.
     *
     * @param prompt     the prompt's text, as given to the data set
     * @param completion the completion's text, decoded without special tokens (the EOS is not in it)
     * @return a finite score; higher is better
     */
    double score(String prompt, String completion);

    /**
     * The rewards of a batch of completions: completion i answers {@code prompts.get(i)} (GRPO passes a micro-batch,
     * {@code numGenerations} completions per prompt, so prompts repeat). This default calls {@link #score} for each,
     * in order, with the prompt's {@link GrpoExample#text()}, and reports a failure as a
     * {@link CompletionScoreException} naming the completion.
     *
     * @param prompts     each completion's prompt, as many as completions
     * @param completions the completions' texts, decoded without special tokens
     * @return one finite score per completion, in order
     */
    default double[] scoreAll(List<GrpoExample> prompts, List<String> completions) {
        double[] scores = new double[completions.size()];
        for (int i = 0; i < scores.length; i++) {
            try {
                scores[i] = score(prompts.get(i).text(), completions.get(i));
            } catch (RuntimeException e) {
                throw new CompletionScoreException(i, e);
            }
        }
        return scores;
    }

    /**
     * The name reported in the metrics ({@code rewards/<name>/mean}) and in error messages; a lambda is named
     * {@code "reward"} unless given a name with {@link #named}.
     *
     * @return the name
     */
    default String name() {
        return "reward";
    }

    /**
     * {@code score} under a name; batches go to {@code score}'s own {@link #scoreAll} (a {@link RewardModel} keeps
     * scoring a batch at once, and stays owned by the caller).
     *
     * @param name  the name of the metrics and messages, not blank
     * @param score the scoring function
     * @return the named function
     */
    static RewardFunction named(String name, RewardFunction score) {
        if (name == null || name.isBlank() || score == null) {
            throw new IllegalArgumentException("a reward function needs a name (not blank) and a scoring function, got '"
                    + name + "' and " + score);
        }
        return new RewardFunction() {
            @Override
            public double score(String prompt, String completion) {
                return score.score(prompt, completion);
            }

            @Override
            public double[] scoreAll(List<GrpoExample> prompts, List<String> completions) {
                return score.scoreAll(prompts, completions);
            }

            @Override
            public String name() {
                return name;
            }
        };
    }
}
