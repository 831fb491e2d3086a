package dev.finetune4j.eval;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Classification metrics identical to scikit-learn's {@code accuracy_score},
 * {@code precision_recall_fscore_support} and {@code confusion_matrix}: labels are the sorted union of true
 * and predicted labels, zero denominators give 0. Multi-label data (indicator rows) go through
 * {@link #computeMultiLabel}.
 *
 * <pre>{@code
 * ClassificationReport rep = ClassificationMetrics.compute(yTrue, yPred);
 * rep.accuracy(); rep.f1(Average.MACRO); rep.precision(Average.MICRO); rep.recall(Average.WEIGHTED);
 * }</pre>
 *
 * <p>Stateless and thread-safe.
 */
public final class ClassificationMetrics {
    private ClassificationMetrics() {
    }

    /**
     * Metrics for string labels, sorted by code point like NumPy's {@code np.unique}.
     *
     * @param yTrue the true label of each example
     * @param yPred the predicted label of each example, as many as {@code yTrue}
     * @return the confusion matrix and the per-class and averaged metrics
     */
    public static ClassificationReport compute(List<String> yTrue, List<String> yPred) {
        checkNotNull(yTrue, yPred);
        checkSizes(yTrue.size(), yPred.size());
        for (int i = 0; i < yTrue.size(); i++) {
            if (yTrue.get(i) == null || yPred.get(i) == null) {
                throw new IllegalArgumentException((yTrue.get(i) == null ? "yTrue" : "yPred") + "[" + i
                        + "] is null; every example needs a label (map missing predictions to a label of their own)");
            }
        }
        TreeSet<String> sorted = new TreeSet<>(ClassificationMetrics::compareCodePoints);
        sorted.addAll(yTrue);
        sorted.addAll(yPred);
        List<String> labels = new ArrayList<>(sorted);
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            index.put(labels.get(i), i);
        }
        int[] trueIndex = new int[yTrue.size()];
        int[] predIndex = new int[yPred.size()];
        for (int i = 0; i < trueIndex.length; i++) {
            trueIndex[i] = index.get(yTrue.get(i));
            predIndex[i] = index.get(yPred.get(i));
        }
        return new ClassificationReport(labels, trueIndex, predIndex);
    }

    /**
     * Metrics for integer labels, sorted numerically; the report's labels are their decimal strings.
     *
     * @param yTrue the true label of each example
     * @param yPred the predicted label of each example, as many as {@code yTrue}
     * @return the confusion matrix and the per-class and averaged metrics
     */
    public static ClassificationReport compute(int[] yTrue, int[] yPred) {
        checkNotNull(yTrue, yPred);
        checkSizes(yTrue.length, yPred.length);
        TreeSet<Integer> sorted = new TreeSet<>();
        for (int i = 0; i < yTrue.length; i++) {
            sorted.add(yTrue[i]);
            sorted.add(yPred[i]);
        }
        Map<Integer, Integer> index = new HashMap<>();
        List<String> labels = new ArrayList<>();
        for (int label : sorted) {
            index.put(label, labels.size());
            labels.add(Integer.toString(label));
        }
        int[] trueIndex = new int[yTrue.length];
        int[] predIndex = new int[yPred.length];
        for (int i = 0; i < trueIndex.length; i++) {
            trueIndex[i] = index.get(yTrue[i]);
            predIndex[i] = index.get(yPred[i]);
        }
        return new ClassificationReport(labels, trueIndex, predIndex);
    }

    /**
     * Metrics for multi-label data, as scikit-learn computes them from indicator matrices ({@code y_true[i][j]} true
     * when example i has label j): every label is scored as its own binary problem (labels never predicted nor true
     * count with F1 0 in the macro average), micro averages sum the labels' counts, and accuracy is the fraction of
     * examples whose predicted label set is exactly the true one.
     *
     * <pre>{@code
     * ClassificationReport rep = ClassificationMetrics.computeMultiLabel(List.of("billing", "refund"), yTrue, yPred);
     * rep.f1(Average.MICRO); rep.f1(Average.MACRO); rep.f1("refund");
     * }</pre>
     *
     * @param labels the label names, one per column, in column order (the report keeps this order)
     * @param yTrue  {@code [example][label]}: which labels each example has
     * @param yPred  {@code [example][label]}: which labels were predicted, as many rows as {@code yTrue}
     * @return the per-label and averaged metrics (no confusion matrix)
     */
    public static ClassificationReport computeMultiLabel(List<String> labels, boolean[][] yTrue, boolean[][] yPred) {
        checkNotNull(yTrue, yPred);
        if (labels == null || labels.isEmpty() || Set.copyOf(labels).size() != labels.size()) {
            throw new IllegalArgumentException("labels " + labels + ": give one distinct name per column of yTrue");
        }
        checkSizes(yTrue.length, yPred.length);
        for (int i = 0; i < yTrue.length; i++) {
            if (yTrue[i] == null || yPred[i] == null || yTrue[i].length != labels.size() || yPred[i].length != labels.size()) {
                throw new IllegalArgumentException("example " + i + ": yTrue and yPred rows need one value per label ("
                        + labels.size() + "), got " + (yTrue[i] == null ? "null" : yTrue[i].length) + " and "
                        + (yPred[i] == null ? "null" : yPred[i].length));
            }
        }
        return new ClassificationReport(labels, yTrue, yPred);
    }

    private static void checkNotNull(Object yTrue, Object yPred) {
        if (yTrue == null || yPred == null) {
            throw new IllegalArgumentException((yTrue == null ? "yTrue" : "yPred") + " is null; pass the labels"
                    + " of every example");
        }
    }

    private static void checkSizes(int nTrue, int nPred) {
        if (nTrue != nPred) {
            throw new IllegalArgumentException("yTrue has " + nTrue + " labels but yPred has " + nPred + "; pass one prediction per example");
        }
    }

    private static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }
}
