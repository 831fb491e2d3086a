package dev.finetune4j.peft.train;

import java.util.List;

/** Unpaired feedback rows in token ids for a {@link KtoTrainer}; immutable. */
public final class KtoDataset {
    private final List<KtoExample> rows;

    private KtoDataset(List<KtoExample> rows) {
        if (rows.size() < 2) {
            throw new IllegalArgumentException("a KTO data set needs at least 2 rows, got " + rows.size() + ": its KL "
                    + "estimate pairs each prompt with another row's completion");
        }
        this.rows = List.copyOf(rows);
    }

    /**
     * The given rows, in order.
     *
     * @param rows the rows, at least two
     * @return the dataset
     */
    public static KtoDataset of(List<KtoExample> rows) {
        return new KtoDataset(rows);
    }

    /**
     * Number of rows.
     *
     * @return the row count
     */
    public int size() {
        return rows.size();
    }

    /**
     * Row {@code i}.
     *
     * @param i the index, in [0, size())
     * @return the row
     */
    public KtoExample get(int i) {
        return rows.get(i);
    }

    /**
     * Number of desirable rows: with {@link #size()}, what the KTO paper's rule for the loss weights needs.
     *
     * @return the desirable row count
     */
    public int desirableCount() {
        return (int) rows.stream().filter(KtoExample::desirable).count();
    }
}
