package dev.finetune4j.peft.train;

import dev.finetune4j.core.tokenizer.ChatTemplate;

/**
 * How {@link SftDataset} turns examples into training sequences. Start from {@link #defaults()} and change what
 * differs:
 *
 * <pre>{@code
 * SftFormat f = SftFormat.defaults().withTemplate(ChatTemplate.ALPACA).withMaxLength(512).withPacking(true);
 * }</pre>
 *
 * @param template       chat template for conversations; null uses the tokenizer's own
 *                       ({@code Tokenizer.chatTemplate()})
 * @param completionOnly loss on the assistant's tokens only (everything else labelled -100); applies to
 *                       conversations, plain text always trains on every token
 * @param appendEos      end every example with the tokenizer's EOS token (trained when the text before it is), so
 *                       that the model learns to stop; ignored when the tokenizer has none, when a text already ends
 *                       with it, and when a conversation's last turn, as its template renders it, holds it (Qwen's
 *                       {@code <|im_end|>\n}: the template has ended the answer)
 * @param maxLength      truncate examples to this many tokens (the end is cut); 0 keeps them whole
 * @param packing        pack consecutive examples into sequences of {@code maxLength} tokens, attention kept
 *                       within each example ({@link TokenizedDataset#packed}); needs {@code maxLength}
 */
public record SftFormat(ChatTemplate template, boolean completionOnly, boolean appendEos, int maxLength, boolean packing) {

    /** Checks that {@code maxLength} is not negative and that packing has a length of at least 2. */
    public SftFormat {
        if (maxLength < 0) {
            throw new IllegalArgumentException("maxLength must be >= 0 (0 keeps examples whole), got " + maxLength);
        }
        if (packing && maxLength < 2) {
            throw new IllegalArgumentException("packing needs the length of the packed sequences: set maxLength "
                    + "(for example the model's context length), got " + maxLength);
        }
    }

    /**
     * The tokenizer's template, completion-only loss, EOS appended, no truncation, no packing.
     *
     * @return the default format
     */
    public static SftFormat defaults() {
        return new SftFormat(null, true, true, 0, false);
    }

    /**
     * This format with a built-in template instead of the tokenizer's.
     *
     * @param value the template, or null for the tokenizer's own
     * @return a new format
     */
    public SftFormat withTemplate(ChatTemplate value) {
        return new SftFormat(value, completionOnly, appendEos, maxLength, packing);
    }

    /**
     * This format with a built-in template named chatml, llama3, alpaca or simple.
     *
     * @param name the template's name
     * @return a new format
     */
    public SftFormat withTemplate(String name) {
        return withTemplate(ChatTemplate.named(name));
    }

    /**
     * This format with completion-only loss on or off.
     *
     * @param value true to train on the assistant's tokens only
     * @return a new format
     */
    public SftFormat withCompletionOnly(boolean value) {
        return new SftFormat(template, value, appendEos, maxLength, packing);
    }

    /**
     * This format with or without a trailing EOS token.
     *
     * @param value true to end each example with EOS
     * @return a new format
     */
    public SftFormat withAppendEos(boolean value) {
        return new SftFormat(template, completionOnly, value, maxLength, packing);
    }

    /**
     * This format truncating to {@code value} tokens (0: no limit).
     *
     * @param value the most tokens per example, {@code >= 0}
     * @return a new format
     */
    public SftFormat withMaxLength(int value) {
        return new SftFormat(template, completionOnly, appendEos, value, packing);
    }

    /**
     * This format with packing on or off.
     *
     * @param value true to pack examples into {@code maxLength}-token sequences
     * @return a new format
     */
    public SftFormat withPacking(boolean value) {
        return new SftFormat(template, completionOnly, appendEos, maxLength, value);
    }
}
