package dev.finetune4j.serve;

import dev.finetune4j.core.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * Text of generated tokens as they arrive, without splitting a character across pieces: a byte-level token may
 * carry half of a UTF-8 sequence, which decodes to U+FFFD until the next token completes it, so a piece is only
 * released when its text no longer ends in U+FFFD. Each step decodes a short window (the tokens since the last
 * piece, with the tokens of the previous piece as context, so SentencePiece decoders keep their leading spaces),
 * not the whole sequence, and the piece is what that window's text adds to the context's text (the approach of
 * vLLM's and Text Generation Inference's streaming detokenizers).
 *
 * <p>A character is at most 4 UTF-8 bytes, so once {@link #MAX_PENDING_TOKENS} tokens wait and their text still
 * ends in U+FFFD (bytes that are not UTF-8, or tokens without text), all but the last
 * {@link #MAX_INCOMPLETE_TOKENS} are released as they decode, replacement characters included: the window stays
 * short and the text keeps flowing, and a character that the last tokens start still comes out whole.
 *
 * <p>Not thread-safe: one per generated sequence.
 */
final class IncrementalDetokenizer {
    /** Prompt tokens decoded as context before the first generated one (word-initial spaces depend on them). */
    static final int PROMPT_CONTEXT = 4;
    /** Tokens held back at most while their text ends in U+FFFD: generous for a character of 4 bytes at most. */
    static final int MAX_PENDING_TOKENS = 8;
    /** Tokens that can hold the start of an unfinished character: its at most 3 bytes, each token 1 or more. */
    private static final int MAX_INCOMPLETE_TOKENS = 3;
    private static final char REPLACEMENT = '\uFFFD';

    private final Tokenizer tokenizer;
    private long[] ids;
    private int size;
    /** Start of the context window. */
    private int prefixOffset;
    /** End of the context, start of the tokens not yet released as text. */
    private int readOffset;

    /**
     * @param tokenizer the model's tokenizer
     * @param prompt    the prompt's tokens; its last {@link #PROMPT_CONTEXT} seed the context
     */
    IncrementalDetokenizer(Tokenizer tokenizer, long[] prompt) {
        this.tokenizer = tokenizer;
        int context = Math.min(PROMPT_CONTEXT, prompt.length);
        ids = new long[Math.max(16, 2 * context)];
        System.arraycopy(prompt, prompt.length - context, ids, 0, context);
        size = context;
        readOffset = context;
    }

    /** Adds a generated token and returns the text that became complete (often "", never a split character). */
    String next(long id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, ids.length * 2);
        }
        ids[size++] = id;
        String context = decode(prefixOffset, readOffset);
        String full = decode(prefixOffset, size);
        int common = commonPrefix(context, full);
        if (common < full.length() && full.charAt(full.length() - 1) != REPLACEMENT) {
            return advance(size, full.substring(common));
        }
        if (size - readOffset < MAX_PENDING_TOKENS) {
            return ""; // the next token may complete the character
        }
        return release(size - MAX_INCOMPLETE_TOKENS);
    }

    /** The text of the tokens not released yet (an incomplete character stays U+FFFD): call once at the end. */
    String flush() {
        return release(size);
    }

    /** Releases the text of the tokens up to {@code end}, whatever it ends in. */
    private String release(int end) {
        String context = decode(prefixOffset, readOffset);
        String text = decode(prefixOffset, end);
        return advance(end, text.substring(commonPrefix(context, text)));
    }

    /** The tokens up to {@code end} are released as {@code piece}; the last piece's tokens become the context. */
    private String advance(int end, String piece) {
        prefixOffset = readOffset;
        readOffset = end;
        return piece;
    }

    /**
     * Where {@code full} departs from {@code context}: normally all of the context, less when the context ended in
     * an incomplete character that the new tokens completed (then that character is part of the new text).
     */
    private static int commonPrefix(String context, String full) {
        int n = Math.min(context.length(), full.length());
        int i = 0;
        while (i < n && context.charAt(i) == full.charAt(i)) {
            i++;
        }
        return i;
    }

    private String decode(int from, int to) {
        return from == to ? "" : tokenizer.decode(Arrays.copyOfRange(ids, from, to));
    }
}
