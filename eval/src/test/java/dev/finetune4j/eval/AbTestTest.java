package dev.finetune4j.eval;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AbTestTest {
    private final AbTest test = AbTest.builder().build();

    @Test
    void successWithSignTestAndWilsonInterval() {
        List<Preference> judgments = new ArrayList<>(Collections.nCopies(15, Preference.A));
        judgments.addAll(Collections.nCopies(5, Preference.B));
        AbTestResult r = test.evaluate(judgments);
        // Sign test: 2 * P(X <= 5 | n = 20, p = 1/2) = 2 * 21700 / 2^20.
        assertEquals(2 * 21700.0 / (1 << 20), r.pValue(), 1e-12);
        // Wilson 95% for 15/20: [0.5313, 0.8881] (textbook value).
        assertEquals(0.5313, r.wilsonLow(), 1e-4);
        assertEquals(0.8881, r.wilsonHigh(), 1e-4);
        assertEquals(0.75, r.winRate(), 1e-12);
        assertEquals(AbVerdict.SUCCESS, r.verdict());
    }

    @Test
    void verdictThresholdsAndTies() {
        assertEquals(AbVerdict.MARKED_IMPROVEMENT, test.evaluate(17, 3, 0).verdict());
        // Ties as half: (15 + 5) / 30 = 0.667 is significant but below 70%.
        AbTestResult withTies = test.evaluate(15, 5, 10);
        assertEquals(2.0 / 3, withTies.winRateTiesHalf(), 1e-12);
        assertEquals(AbVerdict.BELOW_TARGET, withTies.verdict());
        assertEquals(AbVerdict.SUCCESS, AbTest.builder().tiesAsHalf(false).build().evaluate(15, 5, 10).verdict());
        // 7 of 10 is 70% but not significant (p = 0.34).
        assertEquals(AbVerdict.INCONCLUSIVE, test.evaluate(7, 3, 0).verdict());
        assertEquals(AbVerdict.BASELINE_PREFERRED, test.evaluate(3, 17, 0).verdict());
        assertEquals(1.0, test.evaluate(0, 0, 5).pValue());
        assertTrue(test.evaluate(17, 3, 0).reason().contains("MARKED_IMPROVEMENT"));
    }

    @Test
    void minimumSampleSize() {
        // ((1.95996 * 0.5 + 0.84162 * sqrt(0.21)) / 0.2)^2 = 46.6 -> 47 decisive judgments.
        assertEquals(47, AbTest.minimumSampleSize(0.70, 0.05, 0.80));
        assertTrue(AbTest.minimumSampleSize(0.60, 0.05, 0.80) > 150);
        assertEquals(1.959963985, Statistics.normalQuantile(0.975), 1e-8);
    }
}
