package dev.finetune4j.eval;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Accuracy, precision, recall and F1 per class and averaged, and the confusion matrix, with scikit-learn's
 * definitions and its default zero-division behaviour (a ratio with a zero denominator is 0). Immutable and
 * thread-safe. A multi-label report ({@link ClassificationMetrics#computeMultiLabel}) scores each label as its own
 * binary problem, as scikit-learn does for indicator matrices: per-label and averaged values have the same
 * definitions, accuracy is the subset accuracy, and there is no confusion matrix.
 *
 * <p>Memory and time are linear in the number of examples and labels: a model that answers free text instead of
 * a label adds one label per distinct answer, so the {@code labels x labels} confusion matrix is only built when
 * {@link #confusionMatrix()} asks for it (20,000 such answers would need 3.2 GB).
 */
public final class ClassificationReport {
    private final List<String> labels;
    private final Map<String, Integer> index;
    /** Label index of each example's true and predicted label; null for multi-label data. */
    private final int[] trueIndex;
    private final int[] predIndex;
    private final long[] tp;
    private final long[] predicted;
    private final long[] support;
    /** Examples whose prediction is entirely right, and all examples: accuracy's ratio. */
    private final long exactMatches;
    private final long examples;

    /** Single-label data: each example has one true and one predicted label (indices into {@code labels}). */
    ClassificationReport(List<String> labels, int[] trueIndex, int[] predIndex) {
        this.labels = List.copyOf(labels);
        this.index = indexOf(this.labels);
        this.trueIndex = trueIndex.clone();
        this.predIndex = predIndex.clone();
        int k = labels.size();
        this.tp = new long[k];
        this.predicted = new long[k];
        this.support = new long[k];
        long matches = 0;
        for (int e = 0; e < trueIndex.length; e++) {
            support[trueIndex[e]]++;
            predicted[predIndex[e]]++;
            if (trueIndex[e] == predIndex[e]) {
                tp[trueIndex[e]]++;
                matches++;
            }
        }
        this.exactMatches = matches;
        this.examples = trueIndex.length;
    }

    /**
     * Multi-label data: each example has a set of true and of predicted labels ({@code [example][label]} indicator
     * rows), each label its own binary problem, as scikit-learn scores indicator matrices.
     */
    ClassificationReport(List<String> labels, boolean[][] yTrue, boolean[][] yPred) {
        this.labels = List.copyOf(labels);
        this.index = indexOf(this.labels);
        this.trueIndex = null;
        this.predIndex = null;
        int k = labels.size();
        this.tp = new long[k];
        this.predicted = new long[k];
        this.support = new long[k];
        long matches = 0;
        for (int e = 0; e < yTrue.length; e++) {
            matches += Arrays.equals(yTrue[e], yPred[e]) ? 1 : 0;
            for (int j = 0; j < k; j++) {
                support[j] += yTrue[e][j] ? 1 : 0;
                predicted[j] += yPred[e][j] ? 1 : 0;
                tp[j] += yTrue[e][j] && yPred[e][j] ? 1 : 0;
            }
        }
        this.exactMatches = matches;
        this.examples = yTrue.length;
    }

    private static Map<String, Integer> indexOf(List<String> labels) {
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            index.put(labels.get(i), i);
        }
        return index;
    }

    /**
     * The labels in sorted order; rows and columns of {@link #confusionMatrix()} follow it.
     *
     * @return the labels seen in the true or predicted labels, sorted
     */
    public List<String> labels() {
        return labels;
    }

    /**
     * {@code [true label][predicted label]} counts, built on each call.
     *
     * @return a new matrix of size {@code labels().size()} squared
     * @throws IllegalStateException for multi-label data, where an example has no single true or predicted label
     */
    public long[][] confusionMatrix() {
        if (trueIndex == null) {
            throw new IllegalStateException("a multi-label report has no confusion matrix (an example may have several "
                    + "labels); read each label's precision, recall and support instead");
        }
        long[][] out = new long[labels.size()][labels.size()];
        for (int e = 0; e < trueIndex.length; e++) {
            out[trueIndex[e]][predIndex[e]]++;
        }
        return out;
    }

    /**
     * Fraction of exact matches; for multi-label data, of examples whose predicted label set equals the true one
     * (scikit-learn's subset accuracy).
     *
     * @return correct predictions over all examples, in [0, 1]
     */
    public double accuracy() {
        return divide(exactMatches, examples);
    }

    /**
     * Averaged precision.
     *
     * @param average how the per-class values are combined
     * @return the precision in [0, 1]
     */
    public double precision(Average average) {
        return average(average, Metric.PRECISION);
    }

    /**
     * Averaged recall.
     *
     * @param average how the per-class values are combined
     * @return the recall in [0, 1]
     */
    public double recall(Average average) {
        return average(average, Metric.RECALL);
    }

    /**
     * Averaged F1.
     *
     * @param average how the per-class values are combined
     * @return the F1 in [0, 1]
     */
    public double f1(Average average) {
        return average(average, Metric.F1);
    }

    /**
     * Precision of one class.
     *
     * @param label one of {@link #labels()}
     * @return true positives over predicted positives, 0 when the class was never predicted
     */
    public double precision(String label) {
        return Metric.PRECISION.of(tp[index(label)], predicted[index(label)], support[index(label)]);
    }

    /**
     * Recall of one class.
     *
     * @param label one of {@link #labels()}
     * @return true positives over true examples, 0 when the class has none
     */
    public double recall(String label) {
        return Metric.RECALL.of(tp[index(label)], predicted[index(label)], support[index(label)]);
    }

    /**
     * F1 of one class.
     *
     * @param label one of {@link #labels()}
     * @return the harmonic mean of the class's precision and recall
     */
    public double f1(String label) {
        return Metric.F1.of(tp[index(label)], predicted[index(label)], support[index(label)]);
    }

    /**
     * Number of true examples of one class.
     *
     * @param label one of {@link #labels()}
     * @return how many examples have this true label (multi-label: among their labels)
     */
    public long support(String label) {
        return support[index(label)];
    }

    /**
     * F1 of every class, in label order.
     *
     * @return an ordered map from label to F1
     */
    public Map<String, Double> f1PerClass() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (String label : labels) {
            out.put(label, f1(label));
        }
        return Collections.unmodifiableMap(out);
    }

    private int index(String label) {
        Integer i = index.get(label);
        if (i == null) {
            throw new IllegalArgumentException("unknown label '" + label + "'; labels are " + labels);
        }
        return i;
    }

    private double average(Average average, Metric metric) {
        if (average == null) {
            throw new IllegalArgumentException("average is null; pass Average.MICRO, MACRO or WEIGHTED");
        }
        int k = labels.size();
        switch (average) {
            case MICRO -> {
                long tpSum = 0;
                long predSum = 0;
                long trueSum = 0;
                for (int i = 0; i < k; i++) {
                    tpSum += tp[i];
                    predSum += predicted[i];
                    trueSum += support[i];
                }
                return metric.of(tpSum, predSum, trueSum);
            }
            case MACRO -> {
                double sum = 0;
                for (int i = 0; i < k; i++) {
                    sum += metric.of(tp[i], predicted[i], support[i]);
                }
                return k == 0 ? 0.0 : sum / k;
            }
            case WEIGHTED -> {
                double sum = 0;
                long weights = 0;
                for (int i = 0; i < k; i++) {
                    sum += metric.of(tp[i], predicted[i], support[i]) * support[i];
                    weights += support[i];
                }
                return weights == 0 ? 0.0 : sum / weights;
            }
            default -> throw new IllegalArgumentException("unknown average " + average);
        }
    }

    private static double divide(long num, long den) {
        return den == 0 ? 0.0 : (double) num / den;
    }

    /** scikit-learn's per-class formulas; F1 is {@code 2 tp / (support + predicted)} as in scikit-learn 1.3+. */
    private enum Metric {
        PRECISION, RECALL, F1;

        double of(long tp, long predicted, long support) {
            return switch (this) {
                case PRECISION -> divide(tp, predicted);
                case RECALL -> divide(tp, support);
                case F1 -> divide(2 * tp, support + predicted);
            };
        }
    }

    @Override
    public String toString() {
        return "ClassificationReport[labels=" + labels + ", accuracy=" + accuracy() + ", macroF1=" + f1(Average.MACRO) + "]";
    }
}
