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

    /**
     * Rows of input ids with their labels (same shapes; rows may differ in length).
     *
     * @param inputIds one row of token ids per example
     * @param labels one row of labels per example, each as long as its row of ids
     * @return the dataset
     */
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

    /**
     * Rows of input ids that are also their labels (plain language modelling).
     *
     * @param inputIds one row of token ids per example
     * @return the dataset
     */
    public static TokenizedDataset of(long[][] inputIds) {
        return of(inputIds, inputIds);
    }

    /**
     * The given examples, in order.
     *
     * @param examples the examples
     * @return the dataset
     */
    public static TokenizedDataset of(List<TokenizedExample> examples) {
        return new TokenizedDataset(examples);
    }

    /**
     * Number of examples.
     *
     * @return the example count
     */
    public int size() {
        return examples.size();
    }

    /**
     * Example {@code i}.
     *
     * @param i the index, in [0, size())
     * @return the example
     */
    public TokenizedExample get(int i) {
        return examples.get(i);
    }

    /**
     * All examples, in order (unmodifiable).
     *
     * @return the examples
     */
    public List<TokenizedExample> examples() {
        return examples;
    }

    /**
     * Packs consecutive examples into sequences of at most {@code maxLength} tokens, each remembering which
     * example every position came from, so that attention never crosses examples and positions restart
     * ({@code ModelInput.segments}). The first label of every packed example is masked: its previous position
     * belongs to another example. An example longer than {@code maxLength} is truncated.
     *
     * @param maxLength the length of a packed sequence, at least 2
     * @return a new dataset of packed sequences
     */
    public TokenizedDataset packed(int maxLength) {
        return new TokenizedDataset(Packing.pack(examples, maxLength));
    }
}
