package dev.finetune4j.core.tokenizer;

import java.util.Arrays;

/**
 * A sentence pair encoded for a classifier, as transformers' {@code tokenizer(text, text_pair)} returns it: the token
 * ids with the special tokens of the pair template, and each token's type id (BERT's 0 for the first text and its
 * special tokens, 1 for the second's; RoBERTa's and XLM-RoBERTa's all 0).
 *
 * @param inputIds     the ids, special tokens included (not copied)
 * @param tokenTypeIds one type id per id (not copied)
 */
public record PairEncoding(long[] inputIds, long[] tokenTypeIds) {

    /** Checks that there is one type id per token id. */
    public PairEncoding {
        if (inputIds.length != tokenTypeIds.length) {
            throw new IllegalArgumentException(inputIds.length + " token ids but " + tokenTypeIds.length + " type ids");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PairEncoding p && Arrays.equals(inputIds, p.inputIds) && Arrays.equals(tokenTypeIds, p.tokenTypeIds);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(inputIds) + Arrays.hashCode(tokenTypeIds);
    }

    @Override
    public String toString() {
        return "PairEncoding[inputIds " + Arrays.toString(inputIds) + ", tokenTypeIds " + Arrays.toString(tokenTypeIds) + "]";
    }
}
