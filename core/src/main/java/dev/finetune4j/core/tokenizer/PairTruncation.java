package dev.finetune4j.core.tokenizer;

/**
 * How many tokens of each text of a pair stay within a budget, as transformers' default {@code truncation=True}
 * ({@code longest_first}) keeps them: the Rust tokenizers' rule, where the longer text is cut to what the shorter one
 * leaves, or, when the shorter one does not fit in half the budget, the shorter one gets half the budget (rounded down)
 * and the longer one the rest. Texts are cut at their end.
 */
final class PairTruncation {
    private PairTruncation() {
    }

    /**
     * The lengths to keep.
     *
     * @param first the first text's token count, as the truncation sees it ({@link #seenLength})
     * @param second the second text's token count, likewise (0 for a single text)
     * @param budget the tokens both texts may hold together: the row's most tokens less the special tokens; at least 0
     * @return {first kept, second kept}
     */
    static int[] longestFirst(int first, int second, int budget) {
        if (first + second <= budget) {
            return new int[]{first, second};
        }
        int shorter = Math.min(first, second);
        int keepShorter = shorter;
        int keepLonger = shorter > budget ? shorter : Math.max(shorter, budget - shorter);
        if (keepShorter + keepLonger > budget) {
            keepShorter = budget / 2;
            keepLonger = keepShorter + budget % 2;
        }
        return first > second ? new int[]{keepLonger, keepShorter} : new int[]{keepShorter, keepLonger};
    }

    /**
     * A text's token count as the truncation of tokenizers 0.23 sees it: with truncation on, each text is tokenized
     * only until its pre-tokens (words) reach {@code maxLength} tokens, the whole row's limit, so a long text counts
     * up to the end of the word holding its token {@code maxLength}. Which text is the longer, and so which one keeps
     * the odd token of a budget cut in halves, follows from these counts.
     *
     * @param wordIds each token's pre-token index, in order (negative where the tokenizer gives none)
     * @param maxLength the whole row's most tokens, special tokens included
     * @return the count, at most {@code wordIds.length}
     */
    static int seenLength(long[] wordIds, int maxLength) {
        if (wordIds.length <= maxLength || wordIds[maxLength - 1] < 0) {
            return wordIds.length;
        }
        int end = maxLength;
        while (end < wordIds.length && wordIds[end] == wordIds[maxLength - 1]) {
            end++;
        }
        return end;
    }
}
