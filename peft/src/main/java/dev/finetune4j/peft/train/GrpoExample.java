package dev.finetune4j.peft.train;

/**
 * One GRPO prompt: the token ids the policy continues, and the text its reward functions are given.
 *
 * @param prompt the prompt's token ids (with the chat template's generation prompt, when it has one), at least one
 * @param text   the prompt as the reward functions see it (for a conversation: its last user message)
 */
public record GrpoExample(long[] prompt, String text) {

    /** Checks that there is a token and a text, and copies the ids. */
    public GrpoExample {
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("a GRPO prompt needs at least one token (for example BOS)");
        }
        if (text == null) {
            throw new IllegalArgumentException("a GRPO prompt needs its text for the reward functions (\"\" if they do not "
                    + "read it)");
        }
        prompt = prompt.clone();
    }

    /**
     * The ids, not copied: must not be modified.
     *
     * @return the prompt's token ids
     */
    @Override
    public long[] prompt() {
        return prompt;
    }
}
