package dev.finetune4j.peft.train;

import java.util.List;

/** Preference pairs in token ids for a {@link DpoTrainer} or a {@link ReferenceFreeTrainer}; immutable. */
public final class PreferenceDataset {
    private final List<PreferenceExample> pairs;

    private PreferenceDataset(List<PreferenceExample> pairs) {
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException("the preference data set is empty: give at least one pair");
        }
        this.pairs = List.copyOf(pairs);
    }

    /**
     * The given pairs, in order.
     *
     * @param pairs the pairs
     * @return the dataset
     */
    public static PreferenceDataset of(List<PreferenceExample> pairs) {
        return new PreferenceDataset(pairs);
    }

    /**
     * Number of pairs.
     *
     * @return the pair count
     */
    public int size() {
        return pairs.size();
    }

    /**
     * Pair {@code i}.
     *
     * @param i the index, in [0, size())
     * @return the pair
     */
    public PreferenceExample get(int i) {
        return pairs.get(i);
    }
}
