package dev.finetune4j.peft.train;

import dev.finetune4j.core.tokenizer.ChatMessage;

import java.util.List;

/**
 * One GRPO prompt: the token ids the policy continues, the text its reward functions are given, and, for a
 * conversation, its messages (what a {@link RewardModel} renders with its own chat template).
 *
 * @param prompt       the prompt's token ids (with the chat template's generation prompt, when it has one), at least one
 * @param text         the prompt as the reward functions see it (for a conversation: its last user message)
 * @param conversation the conversation's messages, ending where the assistant answers; empty for a plain-text prompt
 */
public record GrpoExample(long[] prompt, String text, List<ChatMessage> conversation) {

    /** Checks that there is a token and a text, and copies the ids and messages. */
    public GrpoExample {
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("a GRPO prompt needs at least one token (for example BOS)");
        }
        if (text == null) {
            throw new IllegalArgumentException("a GRPO prompt needs its text for the reward functions (\"\" if they do not "
                    + "read it)");
        }
        if (conversation == null) {
            throw new IllegalArgumentException("a GRPO prompt's conversation must not be null: List.of() for plain text");
        }
        prompt = prompt.clone();
        conversation = List.copyOf(conversation);
    }

    /**
     * A plain-text prompt (no conversation).
     *
     * @param prompt the prompt's token ids, at least one
     * @param text   the prompt as the reward functions see it
     */
    public GrpoExample(long[] prompt, String text) {
        this(prompt, text, List.of());
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
