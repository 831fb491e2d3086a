package dev.finetune4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ClassificationMetricsTest {
    private static final double TOL = 1e-12;

    @Test
    void matchesScikitLearnOnTheReferenceSet() {
        JsonNode c = ReferenceSet.ROOT.get("classification");
        ClassificationReport rep = ClassificationMetrics.compute(ReferenceSet.list(c.get("y_true")), ReferenceSet.list(c.get("y_pred")));
        assertEquals(c.get("accuracy").asDouble(), rep.accuracy(), TOL);
        for (Average a : Average.values()) {
            String suffix = "." + a.name().toLowerCase();
            assertEquals(c.get("precision" + suffix).asDouble(), rep.precision(a), TOL, "precision" + suffix);
            assertEquals(c.get("recall" + suffix).asDouble(), rep.recall(a), TOL, "recall" + suffix);
            assertEquals(c.get("f1" + suffix).asDouble(), rep.f1(a), TOL, "f1" + suffix);
        }
        c.get("f1.per_class").fields().forEachRemaining(e -> assertEquals(e.getValue().asDouble(), rep.f1(e.getKey()), TOL, e.getKey()));
        assertEquals(List.of("billing", "complaint", "fraud", "loan", "other"), rep.labels());
    }

    @Test
    void integerLabelsZeroDivisionAndConfusionMatrix() {
        // Classes 0, 1, 2, 10 (numeric order). Class 10 is never predicted: precision 0 (zero division), recall 0.
        // Class 2 is predicted once but never true: precision 0, recall 0 (zero division), F1 0.
        int[] yTrue = {0, 0, 1, 1, 10};
        int[] yPred = {0, 1, 1, 1, 2};
        ClassificationReport rep = ClassificationMetrics.compute(yTrue, yPred);
        assertEquals(List.of("0", "1", "2", "10"), rep.labels());
        assertArrayEquals(new long[] {1, 1, 0, 0}, rep.confusionMatrix()[0]);
        assertArrayEquals(new long[] {0, 0, 1, 0}, rep.confusionMatrix()[3]);
        assertEquals(0.6, rep.accuracy(), TOL);
        // per class P: 1, 2/3, 0, 0 -> macro 5/12; R: 1/2, 1, 0, 0 -> macro 3/8; F1: 2/3, 4/5, 0, 0 -> macro 22/60.
        assertEquals(5.0 / 12, rep.precision(Average.MACRO), TOL);
        assertEquals(3.0 / 8, rep.recall(Average.MACRO), TOL);
        assertEquals((2.0 / 3 + 0.8) / 4, rep.f1(Average.MACRO), TOL);
        // weighted by support 2, 2, 0, 1 (total 5): F1 (2 * 2/3 + 2 * 4/5) / 5.
        assertEquals((2 * 2.0 / 3 + 2 * 0.8) / 5, rep.f1(Average.WEIGHTED), TOL);
        assertEquals(0.6, rep.f1(Average.MICRO), TOL);
        assertThrows(IllegalArgumentException.class, () -> ClassificationMetrics.compute(new int[] {1}, new int[0]));
    }

    @Test
    void qaExactMatchAndF1() {
        QaMetrics squad = QaMetrics.squad();
        assertEquals(1.0, squad.exactMatch("The Eiffel Tower!", List.of("eiffel tower")));
        // pred [eiffel, tower, in, paris] vs gold [eiffel, tower]: P 2/4, R 1 -> F1 2/3.
        assertEquals(2.0 / 3, squad.f1("the Eiffel Tower in Paris", List.of("Eiffel Tower", "Paris")), TOL);
        assertEquals(1.0, squad.f1("", List.of("")), TOL);
        assertEquals(0.0, squad.f1("", List.of("something")), TOL);
        // Without the CJK option a Chinese answer is one token: no partial credit.
        assertEquals(0.0, squad.f1("北京大学", List.of("北京")), TOL);
        // CJK: [北, 京, 大, 学] vs [北, 京]: P 1/2, R 1 -> 2/3; Chinese punctuation is removed.
        assertEquals(2.0 / 3, QaMetrics.cjk().f1("北京大学。", List.of("北京")), TOL);
        assertEquals(1.0, QaMetrics.cjk().exactMatch("北京！", List.of("北京")));
        QaScore s = squad.score(List.of("a cat", "dog"), List.of(List.of("cat"), List.of("the cat")));
        assertEquals(0.5, s.exactMatch(), TOL);
        assertEquals(0.5, s.f1(), TOL);
    }

    @Test
    @Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // the old dense matrix ran out of heap
    void freeTextAnswersAddLabelsWithoutALabelsSquaredMatrix() {
        // 30,000 yes/no questions: the first half answered correctly, the second half with a distinct free text each.
        int n = 30_000;
        List<String> yTrue = new ArrayList<>();
        List<String> yPred = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            yTrue.add(i % 2 == 0 ? "yes" : "no");
            yPred.add(i < n / 2 ? yTrue.get(i) : "I think the answer is " + i);
        }
        ClassificationReport rep = ClassificationMetrics.compute(yTrue, yPred);
        assertEquals(2 + n / 2, rep.labels().size());
        // yes and no: support 15,000, predicted 7,500, tp 7,500 -> F1 = 2 * 7500 / 22500 = 2/3; free texts: F1 0.
        assertEquals(0.5, rep.accuracy(), TOL);
        assertEquals(2.0 / 3, rep.f1("yes"), TOL);
        assertEquals(2 * (2.0 / 3) / (2 + n / 2), rep.f1(Average.MACRO), TOL);
        assertEquals(2.0 / 3, rep.f1(Average.WEIGHTED), TOL);
        assertEquals(0.5, rep.f1(Average.MICRO), TOL);
        assertEquals(2 + n / 2, rep.f1PerClass().size());
    }

    @Test
    void qaArticlesEndAtPythonWordBoundaries() {
        // the SQuAD v2.0 script's normalize_answer run by Python 3: a combining mark (U+0300, U+0301) or a zero-width
        // joiner after an article is no word character, so the article goes
        assertEquals("\u0300 la carte", QaMetrics.squad().normalize("a\u0300 la carte"));
        assertEquals("\u0300 la carte", QaMetrics.squad().normalize("the\u0300 la carte"));
        assertEquals("\u200d apple", QaMetrics.squad().normalize("a\u200d apple"));
        assertEquals("th\u00e9\u00e2tre \u0301", QaMetrics.squad().normalize("th\u00e9\u00e2tre a\u0301"));
    }
}
