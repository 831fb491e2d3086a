package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

/**
 * Reads one call's arguments out of the model's raw text as it arrives, into the JSON object text clients receive
 * ({@link ToolCall#arguments()}). A stream feeds it piece by piece and sends what {@link #text()} gained; a whole
 * answer is read by the same reader in one feed, so both give the same text. Linear in the text read.
 *
 * <p>Not thread-safe: one per call.
 *
 * @see ArgumentsText the JSON object a call writes as is
 * @see XmlParameters Qwen3-Coder's {@code <parameter=...>} list
 */
sealed interface ArgumentsReader permits ArgumentsText, XmlParameters {
    /**
     * Reads {@code raw[from, to)} as far as it can tell, and no further than the arguments' end. Characters it leaves
     * unread (the start of a marker that more text would confirm) are given again with more text after them.
     *
     * @return how many characters were read
     */
    int feed(CharSequence raw, int from, int to);

    /** Whether the arguments are over: their end was read, or they turned out malformed; nothing more is read. */
    boolean closed();

    /** The JSON text read so far, as the reader keeps it (it grows as text is fed). */
    CharSequence written();

    /** The JSON text read so far. */
    default String text() {
        return written().toString();
    }

    /** The text from index {@code start} of {@link #text()} on. */
    default String textFrom(int start) {
        return written().subSequence(start, written().length()).toString();
    }

    /** The length of {@link #text()}. */
    default int length() {
        return written().length();
    }
}
