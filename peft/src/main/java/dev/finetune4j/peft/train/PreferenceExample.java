package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.CrossEntropy;

import java.util.Arrays;

/**
 * One preference pair in token ids: the same prompt followed by a preferred and a dispreferred response.
 *
 * @param prompt   prompt tokens (no loss on them)
 * @param chosen   tokens of the preferred response
 * @param rejected tokens of the dispreferred response
 * @param margin   how much higher a reward model should score the chosen response (TRL's {@code margin} column, for
 *                 graded preferences as in Llama 2's reward models); 0 for none. Read by {@link RewardTrainer} only:
 *                 DPO, ORPO and SimPO have no margin, as in TRL
 */
public record PreferenceExample(long[] prompt, long[] chosen, long[] rejected, double margin) {

    /** Checks that the prompt and both responses have at least one token and that the margin is a number. */
    public PreferenceExample {
        if (!Double.isFinite(margin)) {
            throw new IllegalArgumentException("a preference pair's margin must be a finite number, got " + margin);
        }
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("a preference pair needs a non-empty prompt (at least a BOS token)");
        }
        if (chosen == null || chosen.length == 0 || rejected == null || rejected.length == 0) {
            throw new IllegalArgumentException("both the chosen and the rejected response need at least one token");
        }
    }

    /**
     * A pair without a margin.
     *
     * @param prompt   prompt tokens (no loss on them)
     * @param chosen   tokens of the preferred response
     * @param rejected tokens of the dispreferred response
     */
    public PreferenceExample(long[] prompt, long[] chosen, long[] rejected) {
        this(prompt, chosen, rejected, 0);
    }

    /** Prompt followed by the chosen ({@code true}) or rejected response, with -100 labels over the prompt. */
    TokenizedExample sequence(boolean chosenSide) {
        long[] response = chosenSide ? chosen : rejected;
        long[] ids = new long[prompt.length + response.length];
        long[] labels = new long[ids.length];
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        System.arraycopy(response, 0, ids, prompt.length, response.length);
        Arrays.fill(labels, 0, prompt.length, CrossEntropy.IGNORE_INDEX);
        System.arraycopy(response, 0, labels, prompt.length, response.length);
        return new TokenizedExample(ids, labels, null);
    }

    /** Tokens of both sequences. */
    int tokens() {
        return 2 * prompt.length + chosen.length + rejected.length;
    }
}
