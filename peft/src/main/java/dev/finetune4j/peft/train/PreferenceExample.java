package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.CrossEntropy;

import java.util.Arrays;

/**
 * One preference pair in token ids: the same prompt followed by a preferred and a dispreferred response.
 *
 * @param prompt   prompt tokens (no loss on them)
 * @param chosen   tokens of the preferred response
 * @param rejected tokens of the dispreferred response
 */
public record PreferenceExample(long[] prompt, long[] chosen, long[] rejected) {

    /** Checks that the prompt and both responses have at least one token. */
    public PreferenceExample {
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("a preference pair needs a non-empty prompt (at least a BOS token)");
        }
        if (chosen == null || chosen.length == 0 || rejected == null || rejected.length == 0) {
            throw new IllegalArgumentException("both the chosen and the rejected response need at least one token");
        }
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
