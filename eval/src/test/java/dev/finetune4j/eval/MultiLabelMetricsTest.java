package dev.finetune4j.eval;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ClassificationMetrics#computeMultiLabel} against scikit-learn's definitions for indicator matrices
 * ({@code f1_score(y_true, y_pred, average=...)}, {@code accuracy_score}), worked out by hand.
 */
class MultiLabelMetricsTest {
    private static final double TOL = 1e-12;

    @Test
    void perLabelMicroMacroWeightedAndSubsetAccuracy() {
        // labels a, b, c, d; d is neither true nor predicted anywhere
        boolean[][] yTrue = {
                {true, false, true, false},
                {false, true, false, false},
                {true, true, false, false},
                {false, false, false, false}};
        boolean[][] yPred = {
                {true, false, false, false},
                {false, true, false, false},
                {true, false, true, false},
                {false, false, false, false}};
        ClassificationReport rep = ClassificationMetrics.computeMultiLabel(List.of("a", "b", "c", "d"), yTrue, yPred);
        assertEquals(List.of("a", "b", "c", "d"), rep.labels(), "column order, not sorted");
        // a: tp 2, predicted 2, true 2 -> P 1, R 1, F1 1
        assertEquals(1.0, rep.f1("a"), TOL);
        // b: tp 1, predicted 1, true 2 -> P 1, R 1/2, F1 2/3
        assertEquals(1.0, rep.precision("b"), TOL);
        assertEquals(0.5, rep.recall("b"), TOL);
        assertEquals(2.0 / 3, rep.f1("b"), TOL);
        // c: tp 0, predicted 1, true 1 -> 0; d: nothing true nor predicted -> 0 (zero division)
        assertEquals(0.0, rep.f1("c"), TOL);
        assertEquals(0.0, rep.f1("d"), TOL);
        assertEquals(2, rep.support("b"));
        // micro: tp 3, predicted 4, true 5 -> P 3/4, R 3/5, F1 6/9
        assertEquals(0.75, rep.precision(Average.MICRO), TOL);
        assertEquals(0.6, rep.recall(Average.MICRO), TOL);
        assertEquals(2.0 / 3, rep.f1(Average.MICRO), TOL);
        // macro: (1 + 2/3 + 0 + 0) / 4 = 5/12
        assertEquals(5.0 / 12, rep.f1(Average.MACRO), TOL);
        // weighted by support 2, 2, 1, 0: (2 + 4/3) / 5 = 2/3
        assertEquals(2.0 / 3, rep.f1(Average.WEIGHTED), TOL);
        // rows 1 and 3 exactly right (row 3: the empty set predicted as empty)
        assertEquals(0.5, rep.accuracy(), TOL);
        IllegalStateException noMatrix = assertThrows(IllegalStateException.class, rep::confusionMatrix);
        assertTrue(noMatrix.getMessage().contains("multi-label"), noMatrix.getMessage());
    }

    @Test
    void refusesRowsOfAnotherWidthAndRepeatedLabels() {
        boolean[][] two = {{true, false}};
        IllegalArgumentException width = assertThrows(IllegalArgumentException.class,
                () -> ClassificationMetrics.computeMultiLabel(List.of("a", "b", "c"), two, two));
        assertTrue(width.getMessage().contains("example 0") && width.getMessage().contains("(3)"), width.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ClassificationMetrics.computeMultiLabel(List.of("a", "a"), two, two));
        assertThrows(IllegalArgumentException.class,
                () -> ClassificationMetrics.computeMultiLabel(List.of("a", "b"), two, new boolean[][]{{true, true}, {false, false}}));
    }
}
