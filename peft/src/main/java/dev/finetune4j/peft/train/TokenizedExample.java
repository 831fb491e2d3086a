package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.CrossEntropy;

import java.util.Arrays;

/**
 * One training sequence: token ids and, position by position, the label to predict there (Hugging Face's
 * convention: labels equal the input ids and the loss shifts them by one; {@link CrossEntropy#IGNORE_INDEX}
 * excludes a position, such as a prompt token under completion-only loss).
 *
 * <p>The example keeps copies of the arrays it is given, so a caller that reuses its buffers cannot change an
 * example a trainer has already checked; the accessors return those copies themselves (not copied again, as batching
 * reads them on every step), which must not be modified.
 *
 * @param inputIds token ids
 * @param labels   same length as {@code inputIds}; -100 where no loss is taken
 * @param segments example id of each position when several examples are packed into one sequence
 *                 (attention never crosses examples and positions restart), or null for one example
 */
public record TokenizedExample(long[] inputIds, long[] labels, int[] segments) {

    /** Checks that there is at least one token and that labels and segments have one entry per token. */
    public TokenizedExample {
        if (inputIds == null || labels == null) {
            throw new IllegalArgumentException("inputIds and labels must not be null");
        }
        if (inputIds.length == 0) {
            throw new IllegalArgumentException("an example needs at least one token");
        }
        if (labels.length != inputIds.length) {
            throw new IllegalArgumentException("labels has " + labels.length + " positions but inputIds has "
                    + inputIds.length + "; give one label per token (-100 to exclude it)");
        }
        if (segments != null && segments.length != inputIds.length) {
            throw new IllegalArgumentException("segments has " + segments.length + " positions but inputIds has " + inputIds.length);
        }
        inputIds = inputIds.clone();
        labels = labels.clone();
        segments = segments == null ? null : segments.clone();
    }

    /**
     * An example whose labels are its input ids (loss on every token).
     *
     * @param inputIds the token ids
     * @return the example
     */
    public static TokenizedExample of(long[] inputIds) {
        return new TokenizedExample(inputIds, inputIds, null);
    }

    /**
     * This example cut to its first {@code maxLength} tokens (the end is cut, as a truncating tokenizer cuts).
     *
     * @param maxLength the most tokens to keep; 0 keeps all
     * @return this example when it is no longer than that, else the cut copy
     */
    public TokenizedExample truncated(int maxLength) {
        if (maxLength <= 0 || inputIds.length <= maxLength) {
            return this;
        }
        return new TokenizedExample(Arrays.copyOf(inputIds, maxLength), Arrays.copyOf(labels, maxLength),
                segments == null ? null : Arrays.copyOf(segments, maxLength));
    }

    /**
     * Number of tokens.
     *
     * @return the length of {@code inputIds}
     */
    public int length() {
        return inputIds.length;
    }

    /**
     * Positions that contribute to the shifted next-token loss (a label other than -100 after position 0).
     *
     * @return the number of trained positions
     */
    public int lossTokens() {
        int n = 0;
        for (int i = 1; i < labels.length; i++) {
            if (labels[i] != CrossEntropy.IGNORE_INDEX) {
                n++;
            }
        }
        return n;
    }
}
