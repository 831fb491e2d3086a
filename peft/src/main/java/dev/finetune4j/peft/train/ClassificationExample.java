package dev.finetune4j.peft.train;

import java.util.Arrays;

/**
 * One sequence to classify and its label.
 *
 * @param inputIds the token ids, at least one (not copied: do not change them afterwards)
 * @param label    the class index, an integer in [0, numLabels), or, for a regression ({@code num_labels} 1), the
 *                 target value
 */
public record ClassificationExample(long[] inputIds, float label) {

    /** Checks that there is a token and that the label is a number. */
    public ClassificationExample {
        if (inputIds == null || inputIds.length == 0) {
            throw new IllegalArgumentException("an example needs at least one token id");
        }
        if (!Float.isFinite(label)) {
            throw new IllegalArgumentException("label " + label + " is not a finite number");
        }
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
        return o instanceof ClassificationExample e && Arrays.equals(inputIds, e.inputIds) && Float.compare(label, e.label) == 0;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(inputIds) + Float.hashCode(label);
    }

    @Override
    public String toString() {
        return "ClassificationExample[" + inputIds.length + " tokens, label " + label + "]";
    }
}
