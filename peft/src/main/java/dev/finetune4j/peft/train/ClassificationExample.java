package dev.finetune4j.peft.train;

import java.util.Arrays;

/**
 * One sequence to classify (a text, or a sentence pair with its token types) and its label, or its label vector for a
 * multi-label classifier.
 *
 * @param inputIds the token ids, at least one (not copied: do not change them afterwards)
 * @param tokenTypeIds each token's type id (a pair's: BERT's 0 for the first text, 1 for the second), as many as
 *                     {@code inputIds}; null for a single text, all type 0 (not copied)
 * @param labels   one value for single-label classification (the class index, an integer in [0, numLabels)) or a
 *                 regression ({@code num_labels} 1: the target value); for {@code multi_label_classification},
 *                 {@code num_labels} values, 1 where the sequence has that class and 0 where not (not copied)
 */
public record ClassificationExample(long[] inputIds, long[] tokenTypeIds, float[] labels) {

    /** Checks that there is a token, one type id per token when given, and that the labels are numbers. */
    public ClassificationExample {
        if (inputIds == null || inputIds.length == 0) {
            throw new IllegalArgumentException("an example needs at least one token id");
        }
        if (tokenTypeIds != null && tokenTypeIds.length != inputIds.length) {
            throw new IllegalArgumentException(inputIds.length + " token ids but " + tokenTypeIds.length
                    + " token type ids: give one per token, or null");
        }
        if (labels == null || labels.length == 0) {
            throw new IllegalArgumentException("an example needs a label (or, for multi-label classification, one "
                    + "value per class)");
        }
        for (float label : labels) {
            if (!Float.isFinite(label)) {
                throw new IllegalArgumentException("label " + label + " is not a finite number");
            }
        }
    }

    /**
     * A single text's example (every token of type 0).
     *
     * @param inputIds the token ids, at least one (not copied)
     * @param labels   the class index or regression target, or the multi-label vector (not copied)
     */
    public ClassificationExample(long[] inputIds, float[] labels) {
        this(inputIds, null, labels);
    }

    /**
     * A single text's example with one label: a class index or a regression target.
     *
     * @param inputIds the token ids, at least one (not copied)
     * @param label    the class index, or the regression target
     */
    public ClassificationExample(long[] inputIds, float label) {
        this(inputIds, null, new float[]{label});
    }

    /**
     * The one label of a single-label or regression example.
     *
     * @return the class index or target
     * @throws IllegalStateException when the example has a label vector of several values
     */
    public float label() {
        if (labels.length != 1) {
            throw new IllegalStateException("this example has a vector of " + labels.length + " labels (multi-label "
                    + "classification); read labels()");
        }
        return labels[0];
    }

    /**
     * The number of tokens.
     *
     * @return the length of {@link #inputIds()}
     */
    public int length() {
        return inputIds.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClassificationExample e && Arrays.equals(inputIds, e.inputIds)
                && Arrays.equals(tokenTypeIds, e.tokenTypeIds) && Arrays.equals(labels, e.labels);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(inputIds) + Arrays.hashCode(tokenTypeIds)) + Arrays.hashCode(labels);
    }

    @Override
    public String toString() {
        return "ClassificationExample[" + inputIds.length + " tokens" + (tokenTypeIds == null ? "" : ", a pair")
                + ", labels " + Arrays.toString(labels) + "]";
    }
}
