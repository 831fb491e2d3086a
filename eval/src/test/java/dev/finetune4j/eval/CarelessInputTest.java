package dev.finetune4j.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Null, empty, mismatched and oversized inputs fail at the API with a message that names the problem. */
class CarelessInputTest {
    private static final double TOL = 1e-12;
    private final Rouge rouge = Rouge.builder().rougeTypes("rouge1", "rougeL").build();

    @Test
    void nullRougeInputsAreNamed() {
        assertMessage("target is null", () -> rouge.score(null, "a"));
        assertMessage("prediction is null", () -> rouge.score("a", null));
        assertMessage("at least one target, found null", () -> rouge.scoreMulti(null, "a"));
        assertMessage("hypotheses is null", () -> rouge.corpusScore(null, List.of(List.of("a"))));
        assertMessage("hypothesis 1 is null", () -> rouge.corpusScore(Arrays.asList("a", null),
                List.of(List.of("a", "b"))));
        assertMessage("reference stream 0 is null", () -> rouge.corpusScore(List.of("a"), Arrays.asList(
                (List<String>) null)));
        assertMessage("has 1 segments but there are 2 hypotheses", () -> rouge.corpusScore(List.of("a", "b"),
                List.of(List.of("a"))));
        assertMessage("no segments", () -> rouge.corpusScore(List.of(), List.of(List.of())));
    }

    @Test
    void nullClassificationInputsAreNamed() {
        assertMessage("yTrue is null", () -> ClassificationMetrics.compute((List<String>) null, List.of("a")));
        assertMessage("yPred is null", () -> ClassificationMetrics.compute(new int[] {1}, null));
        assertMessage("yPred[1] is null", () -> ClassificationMetrics.compute(List.of("a", "b"),
                Arrays.asList("a", null)));
        ClassificationReport r = ClassificationMetrics.compute(List.of("a"), List.of("a"));
        assertMessage("average is null", () -> r.f1((Average) null));
    }

    @Test
    void nullSentenceInputsToBleuChrfTerAndQaAreNamed() {
        assertMessage("Bleu: hypothesis is null", () -> Bleu.builder().build().sentenceScore(null, List.of("a")));
        assertMessage("Chrf: hypothesis is null", () -> Chrf.builder().build().sentenceScore(null, List.of("a")));
        assertMessage("Ter: hypothesis is null", () -> Ter.builder().build().sentenceScore(null, List.of("a")));
        assertMessage("references is null", () -> Bleu.builder().build().sentenceScore("a", null));
        assertMessage("QaMetrics.f1: hypothesis is null", () -> QaMetrics.squad().f1(null, List.of("a")));
        assertMessage("gold answers are null", () -> QaMetrics.squad().exactMatch("a", null));
        assertMessage("a gold answer is null", () -> QaMetrics.squad().f1("a", Arrays.asList("a", null)));
    }

    @Test
    void emptyEvaluationSetsHaveNoScore() {
        assertMessage("Bleu.corpusScore: no segments", () -> Bleu.builder().build().corpusScore(List.of(),
                List.of(List.of())));
        assertMessage("Chrf.corpusScore: no segments", () -> Chrf.builder().build().corpusScore(List.of(),
                List.of(List.of())));
        assertMessage("Ter.corpusScore: no segments", () -> Ter.builder().build().corpusScore(List.of(),
                List.of(List.of())));
    }

    @Test
    void unmeasurableValuesNeverPromoteOrPoisonTheMonitor() {
        GateRule perplexity = GateRule.lowerIsBetter("perplexity");
        assertEquals(GateVerdict.HOLD, perplexity.judge(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY));
        GateDecision d = PromotionGate.of(perplexity).evaluate(Map.of("perplexity", Double.POSITIVE_INFINITY),
                Map.of("perplexity", Double.POSITIVE_INFINITY));
        assertEquals(GateVerdict.HOLD, d.verdict());
        assertTrue(d.reasons().getFirst().contains("cannot be compared"), d.reasons().toString());
        OnlineMonitor m = PromotionGate.of(GateRule.higherIsBetter("bleu")).monitor(Map.of("bleu", 10.0), 2, 1);
        assertMessage("not a finite number", () -> m.observe("bleu", Double.NaN));
        assertEquals(false, m.observe("bleu", 11).rollback());
        assertMessage("judgment 1 is null", () -> AbTest.builder().build().evaluate(Arrays.asList(Preference.A, null)));
        // the monitor kept the last of two rules for one metric while evaluate judged both
        assertMessage("two rules for metric 'bleu'", () -> PromotionGate.of(GateRule.higherIsBetter("bleu"),
                GateRule.higherIsBetter("bleu").maxRegression(5)));
        // the sum wrapped to a negative total: a win rate of -1 and p = NaN
        assertMessage("add up past", () -> AbTest.builder().build().evaluate(Long.MAX_VALUE, 1, 0));
        assertMessage("add up past", () -> AbTest.builder().build().evaluate(1, 1, Long.MAX_VALUE - 1));
    }

    @Test
    void htmlChartsSkipValuesTheyCannotPlace() {
        EvalReport cand = EvalReport.builder("c").metric("perplexity", Double.NaN).metric("bleu", 5)
                .loss(1, 3.0).loss(2, Double.NaN).loss(3, 2.0).build();
        EvalReport base = EvalReport.builder("b").metric("perplexity", 7).metric("bleu", Double.POSITIVE_INFINITY)
                .build();
        String html = HtmlReport.render(cand, base, null);
        assertTrue(!html.matches("(?s).*=\"[^\"]*(NaN|Infinity)[^\"]*\".*"), "no NaN in an SVG attribute");
        assertTrue(html.contains("<polyline"), "the finite loss points are still drawn");
    }

    @Test
    void rougeCorpusScoreTakesHypothesesFirstLikeBleu() {
        // hand-computed: rouge1 of "a b" against "a b c d": P = 2/2, R = 2/4; of "x" against "x y": P = 1, R = 1/2
        Map<String, RougeScore> got = rouge.corpusScore(List.of("a b", "x"), List.of(List.of("a b c d", "x y")));
        assertEquals(1.0, got.get("rouge1").precision(), TOL);
        assertEquals(0.5, got.get("rouge1").recall(), TOL);
        // a second reference stream: each segment keeps the reference with the best F1 ("a b" matches exactly)
        Map<String, RougeScore> multi = rouge.corpusScore(List.of("a b", "x"),
                List.of(List.of("a b c d", "x y"), Arrays.asList("a b", null)));
        assertEquals(1.0, multi.get("rouge1").precision(), TOL);
        assertEquals((1.0 + 0.5) / 2, multi.get("rouge1").recall(), TOL);
    }

    @Test
    void rougeLsumRefusesASentencePairItsTableCannotHold() {
        String sentence = "w ".repeat(5000);
        Rouge lsum = Rouge.builder().rougeTypes("rougeLsum").build();
        assertMessage("put one sentence per line", () -> lsum.score(sentence, sentence));
        // rougeL keeps two rows only: the same texts score without a table
        assertEquals(1.0, Rouge.builder().rougeTypes("rougeL").build().score(sentence, sentence).get("rougeL")
                .fmeasure(), TOL);
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void nullReportEntriesAreNamedWhenTheReportIsBuilt() {
        assertMessage("metric null has no name", () -> EvalReport.builder("m").metric(null, 1).build());
        assertMessage("metadata dataset = null is null", () -> EvalReport.builder("m").meta("dataset", null).build());
        assertMessage("interval of metric drs is [0.5]", () -> Reports.fromJson(
                "{\"model\":\"m\",\"metrics\":{\"drs\":0.6},\"intervals\":{\"drs\":[0.5]}}"));
        assertEquals(Map.of(), Reports.fromJson("{\"model\":\"m\"}").metrics());
        assertMessage("QaMetrics.score: predictions is null", () -> QaMetrics.squad().score(null, List.of()));
    }

    @Test
    void aSampleCutInsideASurrogatePairStillWritesTheReport(@TempDir Path dir) throws Exception {
        // "answer 😀" cut after the emoji's first char, as substring(0, 8) does; a whole emoji is kept
        EvalReport r = EvalReport.builder("m").meta("sample", "answer \uD83D\uDE00".substring(0, 8))
                .meta("whole", "\uD83D\uDE00").build();
        Reports.writeHtml(r, null, null, dir.resolve("report.html"));
        assertTrue(Files.readString(dir.resolve("report.html")).contains("<td>answer \uFFFD</td>"));
        Reports.writeJson(r, dir.resolve("report.json"));
        EvalReport back = Reports.readJson(dir.resolve("report.json"));
        assertEquals("answer \uFFFD", back.metadata().get("sample"));
        assertEquals("\uD83D\uDE00", back.metadata().get("whole"));
    }
}
