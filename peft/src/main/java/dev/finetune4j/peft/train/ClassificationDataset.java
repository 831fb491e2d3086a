package dev.finetune4j.peft.train;

import dev.finetune4j.core.tokenizer.PairEncoding;
import dev.finetune4j.core.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Sequences with their class (a regression target, or a label vector for multi-label classification), already
 * turned into token ids (and, for sentence pairs, token type ids); immutable.
 *
 * <pre>{@code
 * ClassificationDataset data = ClassificationDataset.fromTexts(texts, labels, tokenizer, 256);
 * ClassificationDataset nli = ClassificationDataset.fromTextPairs(premises, hypotheses, labels, tokenizer, 256);
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
            rows.add(row(i, inputIds[i].clone(), null, new float[]{labels[i]}));
        }
        return new ClassificationDataset(rows);
    }

    /**
     * Texts tokenized as transformers' {@code tokenizer(text, truncation=True, max_length=maxLength)} does
     * ({@link Tokenizer#encodeWithSpecialTokens}: BERT's {@code [CLS] ... [SEP]}, Llama's BOS, the text cut so that
     * the special tokens stay inside {@code maxLength}), with their class indices (or regression targets).
     *
     * @param texts     the texts
     * @param labels    the label of each text (a class index, or a regression target)
     * @param tokenizer the model's tokenizer
     * @param maxLength the most tokens of a row, special tokens included
     * @return the data set
     */
    public static ClassificationDataset fromTexts(List<String> texts, float[] labels, Tokenizer tokenizer, int maxLength) {
        if (texts.size() != labels.length) {
            throw new IllegalArgumentException(texts.size() + " texts but " + labels.length + " labels");
        }
        float[][] single = new float[labels.length][];
        for (int i = 0; i < labels.length; i++) {
            single[i] = new float[]{labels[i]};
        }
        return fromTexts(texts, single, tokenizer, maxLength);
    }

    /**
     * Texts tokenized as {@link #fromTexts(List, float[], Tokenizer, int)} does, each with its label vector: for
     * {@code multi_label_classification}, one 0 or 1 per class (1 where the text has that class).
     *
     * @param texts     the texts
     * @param labels    the label vector of each text, {@code num_labels} values of 0 or 1
     * @param tokenizer the model's tokenizer
     * @param maxLength the most tokens of a row, special tokens included
     * @return the data set
     */
    public static ClassificationDataset fromTexts(List<String> texts, float[][] labels, Tokenizer tokenizer, int maxLength) {
        if (texts.size() != labels.length) {
            throw new IllegalArgumentException(texts.size() + " texts but " + labels.length + " label vectors");
        }
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be at least 1, got " + maxLength);
        }
        return fromTextPairs(texts, Collections.nCopies(texts.size(), null), labels, tokenizer, maxLength);
    }

    /**
     * Sentence pairs (a premise and its hypothesis, a query and a passage) tokenized as transformers'
     * {@code tokenizer(text, text_pair, truncation=True, max_length=maxLength)} does
     * ({@link Tokenizer#encodePairWithSpecialTokens}: the pair template's special tokens, the longer text cut first),
     * with their token type ids and label vectors (one value for a class index or regression target).
     *
     * @param texts     the first texts
     * @param pairs     the second text of each; a null entry makes that row a single text
     *                  ({@link Tokenizer#encodeWithSpecialTokens})
     * @param labels    the label vector of each pair
     * @param tokenizer the model's tokenizer
     * @param maxLength the most tokens of a row, special tokens included
     * @return the data set
     */
    public static ClassificationDataset fromTextPairs(List<String> texts, List<String> pairs, float[][] labels,
                                                      Tokenizer tokenizer, int maxLength) {
        if (texts.size() != labels.length || pairs.size() != texts.size()) {
            throw new IllegalArgumentException(texts.size() + " texts, " + pairs.size() + " second texts and "
                    + labels.length + " labels: give one of each per row");
        }
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be at least 1, got " + maxLength);
        }
        List<ClassificationExample> rows = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            String pair = pairs.get(i);
            PairEncoding enc = pair == null ? null : tokenizer.encodePairWithSpecialTokens(texts.get(i), pair, maxLength);
            long[] ids = enc == null ? tokenizer.encodeWithSpecialTokens(texts.get(i), maxLength) : enc.inputIds();
            if (ids.length == 0) {
                throw new IllegalArgumentException("text " + i + " has no token: remove empty texts");
            }
            rows.add(row(i, ids, enc == null ? null : enc.tokenTypeIds(), labels[i]));
        }
        return new ClassificationDataset(rows);
    }

    /**
     * Rows of token ids with their label vectors ({@code multi_label_classification}: one 0 or 1 per class).
     *
     * @param inputIds one row of token ids per example
     * @param labels   the label vector of each row
     * @return the data set
     */
    public static ClassificationDataset of(long[][] inputIds, float[][] labels) {
        if (inputIds.length != labels.length) {
            throw new IllegalArgumentException(inputIds.length + " rows of input ids but " + labels.length + " label vectors");
        }
        List<ClassificationExample> rows = new ArrayList<>(inputIds.length);
        for (int i = 0; i < inputIds.length; i++) {
            rows.add(row(i, inputIds[i].clone(), null, labels[i]));
        }
        return new ClassificationDataset(rows);
    }

    private static ClassificationExample row(int i, long[] ids, long[] types, float[] labels) {
        try {
            return new ClassificationExample(ids, types, labels.clone());
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("row " + i + ": " + e.getMessage(), e);
        }
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
