package dev.finetune4j.peft.train;

import dev.finetune4j.core.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Sequences with their class (or regression target), already turned into token ids; immutable.
 *
 * <pre>{@code
 * ClassificationDataset data = ClassificationDataset.fromTexts(texts, labels, tokenizer, 256);
 * }</pre>
 */
public final class ClassificationDataset {
    private final List<ClassificationExample> examples;

    private ClassificationDataset(List<ClassificationExample> examples) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("the data set is empty: give at least one example");
        }
        this.examples = List.copyOf(examples);
    }

    /**
     * The given examples, in order.
     *
     * @param examples the examples
     * @return the data set
     */
    public static ClassificationDataset of(List<ClassificationExample> examples) {
        return new ClassificationDataset(examples);
    }

    /**
     * Rows of token ids with their class indices.
     *
     * @param inputIds one row of token ids per example
     * @param labels   the class of each row, in [0, numLabels)
     * @return the data set
     */
    public static ClassificationDataset of(long[][] inputIds, int[] labels) {
        if (inputIds.length != labels.length) {
            throw new IllegalArgumentException(inputIds.length + " rows of input ids but " + labels.length + " labels");
        }
        List<ClassificationExample> rows = new ArrayList<>(inputIds.length);
        for (int i = 0; i < inputIds.length; i++) {
            try {
                rows.add(new ClassificationExample(inputIds[i].clone(), labels[i]));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("row " + i + ": " + e.getMessage(), e);
            }
        }
        return new ClassificationDataset(rows);
    }

    /**
     * Texts tokenized without special tokens, each cut to its first {@code maxLength} tokens, with their class
     * indices (or regression targets).
     *
     * @param texts     the texts
     * @param labels    the label of each text (a class index, or a regression target)
     * @param tokenizer the model's tokenizer
     * @param maxLength the most tokens kept of a text
     * @return the data set
     */
    public static ClassificationDataset fromTexts(List<String> texts, float[] labels, Tokenizer tokenizer, int maxLength) {
        if (texts.size() != labels.length) {
            throw new IllegalArgumentException(texts.size() + " texts but " + labels.length + " labels");
        }
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be at least 1, got " + maxLength);
        }
        List<ClassificationExample> rows = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            long[] ids = tokenizer.encode(texts.get(i));
            if (ids.length == 0) {
                throw new IllegalArgumentException("text " + i + " has no token: remove empty texts");
            }
            rows.add(new ClassificationExample(Arrays.copyOf(ids, Math.min(ids.length, maxLength)), labels[i]));
        }
        return new ClassificationDataset(rows);
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
    public ClassificationExample get(int i) {
        return examples.get(i);
    }

    /**
     * All examples, in order.
     *
     * @return an unmodifiable list
     */
    public List<ClassificationExample> examples() {
        return examples;
    }
}
