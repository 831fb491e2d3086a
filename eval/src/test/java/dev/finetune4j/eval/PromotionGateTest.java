package dev.finetune4j.eval;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PromotionGateTest {
    private final PromotionGate gate = PromotionGate.of(
            GateRule.higherIsBetter("accuracy").maxRegression(0.01).minGain(0.005),
            GateRule.lowerIsBetter("perplexity").maxRegression(0.05).relative(true));

    @Test
    void promoteHoldRollback() {
        Map<String, Double> base = Map.of("accuracy", 0.80, "perplexity", 10.0);
        assertEquals(GateVerdict.PROMOTE, gate.evaluate(Map.of("accuracy", 0.81, "perplexity", 10.2), base).verdict());
        GateDecision hold = gate.evaluate(Map.of("accuracy", 0.802, "perplexity", 9.0), base);
        assertEquals(GateVerdict.HOLD, hold.verdict());
        assertEquals(1, hold.reasons().size());
        assertTrue(hold.reasons().get(0).startsWith("accuracy"), hold.reasons().toString());
        // Perplexity 10 -> 10.6 is 6% worse, beyond the allowed 5%.
        GateDecision rollback = gate.evaluate(Map.of("accuracy", 0.85, "perplexity", 10.6), base);
        assertEquals(GateVerdict.ROLLBACK, rollback.verdict());
        assertTrue(rollback.reasons().get(0).contains("regresses"), rollback.reasons().toString());
        assertEquals(GateVerdict.HOLD, gate.evaluate(Map.of("accuracy", 0.9), base).verdict());
    }

    @Test
    void onlineMonitorSignalsRollbackOnRollingMean() {
        OnlineMonitor m = gate.monitor(Map.of("accuracy", 0.80, "perplexity", 10.0), 10, 5);
        for (int i = 0; i < 4; i++) {
            assertFalse(m.observe("accuracy", 0.0).rollback(), "judged before minSamples");
        }
        assertTrue(m.observe("accuracy", 0.0).rollback());
        assertTrue(m.observe("accuracy", 1.0).rollback(), "rollback is sticky");
        OnlineMonitor healthy = gate.monitor(Map.of("accuracy", 0.80, "perplexity", 10.0), 4, 2);
        for (int i = 0; i < 20; i++) {
            assertFalse(healthy.observe("accuracy", i % 2 == 0 ? 0.795 : 0.85).rollback(), "within the 0.01 tolerance");
        }
        assertEquals(null, healthy.rollbackSignal());
    }

    @Test
    void reportsAsJsonAndSelfContainedHtml(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        EvalReport cand = EvalReport.builder("lora-r16 <new>").metric("accuracy", 0.81).metric("perplexity", 10.2)
                .interval("accuracy", 0.78, 0.84).loss(1, 2.5).loss(2, 2.1).loss(3, 1.9).meta("dataset", "bank-qa").build();
        EvalReport base = EvalReport.builder("base").metric("accuracy", 0.80).metric("perplexity", 10.0).build();
        Path json = dir.resolve("r/cand.json");
        Reports.writeJson(cand, json);
        assertEquals(cand, Reports.readJson(json));
        Path html = dir.resolve("report.html");
        Reports.writeHtml(cand, base, gate.evaluate(cand, base), html);
        String page = Files.readString(html);
        assertTrue(page.contains("Gate: PROMOTE"));
        assertTrue(page.contains("<polyline"), "loss curve");
        assertTrue(page.contains("lora-r16 &lt;new&gt;"), "escaped");
        assertFalse(page.contains("<script") || page.contains("src=") || page.contains("href="), "self-contained");
    }

    @Test
    void monitorForgetsAnOutlierOnceItLeavesTheWindow() {
        // accuracy 0.9 against baseline 0.9: no regression once the outlier 1e17 has left the window of three
        OnlineMonitor m = PromotionGate.of(GateRule.higherIsBetter("accuracy").maxRegression(0.1))
                .monitor(Map.of("accuracy", 0.9), 3, 3);
        m.observe("accuracy", 1e17);
        for (int i = 0; i < 5; i++) {
            m.observe("accuracy", 0.9);
        }
        MonitorSignal s = m.observe("accuracy", 0.9);
        assertFalse(s.rollback(), s.reason());
        assertEquals(0.9, s.rollingMean(), 1e-12);
        // two values whose sum overflows, then a throughput of 50 against 100: a regression the monitor must see
        OnlineMonitor tps = PromotionGate.of(GateRule.higherIsBetter("tps").maxRegression(10))
                .monitor(Map.of("tps", 100.0), 2, 1);
        tps.observe("tps", Double.MAX_VALUE);
        assertEquals(Double.MAX_VALUE, tps.observe("tps", Double.MAX_VALUE).rollingMean());
        tps.observe("tps", 50);
        MonitorSignal slow = tps.observe("tps", 50);
        assertEquals(50.0, slow.rollingMean());
        assertTrue(slow.rollback(), slow.reason());
    }
}
