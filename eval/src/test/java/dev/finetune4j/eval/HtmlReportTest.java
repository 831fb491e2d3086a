package dev.finetune4j.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each loss curve gets its own chart with round, labelled ticks; sections render as escaped tables. */
class HtmlReportTest {

    @Test
    void ticksAreRoundValuesAboutFiveApart() {
        // (360 - 1) / 5 = 71.8 -> 50; (16 - 1) / 5 = 3 -> 2; (3.54 - 0.72) / 5 = 0.564 -> 0.5
        assertEquals(List.of(50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 350.0), HtmlReport.ticks(1, 360));
        assertEquals(List.of(2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0), HtmlReport.ticks(1, 16));
        assertEquals(List.of(1.0, 1.5, 2.0, 2.5, 3.0, 3.5),
                HtmlReport.ticks(0.72, 3.54).stream().map(v -> Math.round(v * 10) / 10.0).toList());
    }

    @Test
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // the old tick loop never ended here
    void aCurveFlatUpToRoundingNoiseIsDrawnFlatWithOneTick() {
        double ln2 = 0.6931471805599453; // a DPO loss that has not moved
        for (double[] losses : new double[][] {{ln2, Math.nextUp(ln2)}, {1e17, 1e17 + 32}}) {
            assertEquals(List.of(losses[0]), HtmlReport.ticks(losses[0], losses[1]));
            EvalReport run = EvalReport.builder("dpo").loss(1, losses[0]).loss(2, losses[1]).loss(3, losses[0]).build();
            String page = HtmlReport.render(run, null, null);
            // five step ticks (1 to 3 by 0.5), one loss tick and the two axes
            assertEquals(8, page.split("<line ", -1).length - 1, page);
            assertTrue(page.contains("points=\"56.0,204.0 "), "the flat curve lies on the bottom axis: " + page);
        }
    }

    @Test
    void theTablesChangeColumnUsesTheGatesSignConvention() {
        EvalReport cand = EvalReport.builder("new").metric("perplexity", 5.0).metric("bleu", 7.0).metric("other", 1.0).build();
        EvalReport base = EvalReport.builder("old").metric("perplexity", 10.0).metric("bleu", 8.0).metric("other", 3.0).build();
        PromotionGate gate = PromotionGate.of(GateRule.lowerIsBetter("perplexity").maxRegression(0.05).relative(true),
                GateRule.higherIsBetter("bleu").maxRegression(2.0));
        String page = HtmlReport.render(cand, base, gate.evaluate(cand, base));
        assertTrue(page.contains("<td>+50.00%</td>"), "perplexity halved: +50% better, as the gate says");
        assertTrue(page.contains("<td>-1.000</td>"), "BLEU one point lower");
        assertTrue(page.contains("<td>-2.000</td>"), "a metric without a rule: candidate minus baseline");
    }

    @Test
    void curvesAreSeparateChartsAndSectionsAreTables() {
        EvalReport cand = EvalReport.builder("sft+dpo").metric("bleu", 7.0).build();
        List<EvalReport.LossPoint> sft = List.of(new EvalReport.LossPoint(1, 3.5), new EvalReport.LossPoint(360, 0.7));
        List<EvalReport.LossPoint> dpo = List.of(new EvalReport.LossPoint(1, 0.69), new EvalReport.LossPoint(16, 0.4));
        String page = HtmlReport.render(cand, null, null,
                List.of(new HtmlReport.LossCurve("SFT", sft), new HtmlReport.LossCurve("DPO", dpo)),
                List.of(new HtmlReport.Section("Sample answers", List.of(List.of("question", "model"), List.of("<b>?", "x")))));
        assertEquals(2, page.split("<polyline", -1).length - 1, "one curve per chart");
        assertTrue(page.contains("<h3>SFT</h3>") && page.contains("<h3>DPO</h3>"), page);
        assertTrue(page.contains(">300</text>") && page.contains(">16</text>"), "each chart has ticks on its own scale");
        assertTrue(page.contains("<h2>Sample answers</h2>") && page.contains("&lt;b&gt;?"), "escaped table cells");
    }
}
