package dev.finetune4j.peft.train;

import java.util.List;

/**
 * Training sequences already turned into token ids and labels; immutable.
 *
 * <pre>{@code
 * TokenizedDataset data = TokenizedDataset.of(inputIds, labels);   // long[][] each, -100 masks a label
 * }</pre>
 */
public final class TokenizedDataset {
    private final List<TokenizedExample> examples;

    private TokenizedDataset(List<TokenizedExample> examples) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("the data set is empty: give at least one example");
        }
        this.examples = List.copyOf(examples);
    }

    /** Rows of input ids with their labels (same shapes; rows may differ in length). */
    public static TokenizedDataset of(long[][] inputIds, long[][] labels) {
        if (inputIds.length != labels.length) {
            throw new IllegalArgumentException(inputIds.length + " rows of input ids but " + labels.length + " rows of labels");
        }
        TokenizedExample[] rows = new TokenizedExample[inputIds.length];
        for (int i = 0; i < rows.length; i++) {
            try {
                rows[i] = new TokenizedExample(inputIds[i].clone(), labels[i].clone(), null);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("row " + i + ": " + e.getMessage(), e);
            }
        }
        return new TokenizedDataset(List.of(rows));
    }

    /** Rows of input ids that are also their labels (plain language modelling). */
    public static TokenizedDataset of(long[][] inputIds) {
        return of(inputIds, inputIds);
    }

    /** The given examples, in order. */
    public static TokenizedDataset of(List<TokenizedExample> examples) {
        return new TokenizedDataset(examples);
    }

    /** Number of examples. */
    public int size() {
        return examples.size();
    }

    /** Example {@code i}. */
    public TokenizedExample get(int i) {
        return examples.get(i);
    }

    /** All examples, in order (unmodifiable). */
    public List<TokenizedExample> examples() {
        return examples;
    }

    /**
     * Packs consecutive examples into sequences of at most {@code maxLength} tokens, each remembering which
     * example every position came from, so that attention never crosses examples and positions restart
     * ({@code ModelInput.segments}). The first label of every packed example is masked: its previous position
     * belongs to another example. An example longer than {@code maxLength} is truncated.
     */
    public TokenizedDataset packed(int maxLength) {
        return new TokenizedDataset(Packing.pack(examples, maxLength));
    }
}
