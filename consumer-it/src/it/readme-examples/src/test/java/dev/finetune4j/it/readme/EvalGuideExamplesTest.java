package dev.finetune4j.it.readme;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.CausalLM;
import dev.finetune4j.core.tokenizer.ToolCall;
import dev.finetune4j.eval.*;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Java examples of eval/README.md, run against the tiny LLaMA fixture and small hand-made inputs. */
class EvalGuideExamplesTest {
    @BeforeAll
    static void fixtures() throws Exception {
        Fixtures.layOut();
    }

    @Test
    void textMetrics() {
        List<String> hypotheses = List.of("请在App选择理赔", "Pay in the app");
        List<String> references = List.of("请在App选择理赔报案", "Pay the premium in the app");
        List<String> secondReferences = List.of("在App里报案", "Pay by card in the app");
        String hyp = "the cat sat on the mat";
        String ref = "the cat is on the mat";
        String reference = "the cats are running";
        String prediction = "the cat runs";
        // example eval/README.md#1
        // referenceStreams.get(k).get(i) is the k-th reference of segment i (sacreBLEU's layout; null = fewer refs)
        BleuScore b = Bleu.builder().tokenize("zh").lowercase(false).smoothMethod("exp").effectiveOrder(false).build()
                .corpusScore(hypotheses, List.of(references, secondReferences));
        b.score(); b.bp(); b.precisions(); b.sysLen(); b.refLen();
        b.signature();                 // nrefs:2|case:mixed|eff:no|tok:zh|smooth:exp|version:2.6.0
        double s = Bleu.builder().effectiveOrder(true).build().sentenceScore(hyp, List.of(ref)).score();

        double chrf   = Chrf.builder().build().corpusScore(hypotheses, List.of(references)).score();
        double chrfPP = Chrf.builder().wordOrder(2).build().corpusScore(hypotheses, List.of(references)).score();
        double ter    = Ter.builder().build().corpusScore(hypotheses, List.of(references)).score();

        Map<String, RougeScore> r = Rouge.builder().rougeTypes("rouge1", "rouge2", "rougeL", "rougeLsum")
                .useStemmer(true).build().score(reference, prediction);
        r.get("rougeLsum").fmeasure();
        Rouge.builder().cjk(true).build().score("我喜欢猫", "我喜欢狗");   // CJK option: characters as tokens
        Rouge.builder().build().corpusScore(hypotheses, List.of(references));  // the same order as BLEU, chrF and TER
        // end example
        assertEquals("nrefs:2|case:mixed|eff:no|tok:zh|smooth:exp|version:2.6.0", b.signature());
        assertTrue(chrf > 0 && chrfPP > 0 && ter > 0 && s > 0);
    }

    @Test
    void classificationAndQa() {
        List<String> yTrue = List.of("fraud", "ok", "ok", "fraud");
        List<String> yPred = List.of("fraud", "ok", "fraud", "fraud");
        List<String> predictions = List.of("Beijing");
        List<List<String>> goldAnswers = List.of(List.of("Beijing", "Peking"));
        // example eval/README.md#2
        ClassificationReport rep = ClassificationMetrics.compute(yTrue, yPred);   // List<String> each, or int[]
        rep.accuracy(); rep.f1(Average.MACRO); rep.precision(Average.MICRO); rep.recall(Average.WEIGHTED);
        rep.f1("fraud"); rep.f1PerClass(); rep.confusionMatrix();                 // rows true, columns predicted

        QaScore qa = QaMetrics.squad().score(predictions, goldAnswers);            // exact match and token F1 in [0, 1]
        double f1 = QaMetrics.cjk().f1("北京大学", List.of("北京"));                  // 2/3: characters as tokens
        // end example
        assertEquals(0.75, rep.accuracy(), 1e-12);
        assertEquals(2.0 / 3.0, f1, 1e-12, "the README's own comment: 2/3");
    }

    @Test
    void perplexity() throws Exception {
        List<long[]> tokenizedDocs = List.of(Fixtures.tokenIds(1, 40)[0]);
        // example eval/README.md#3
        try (CausalLM lm = AutoModel.loadCausalLM(Path.of("my-model"))) {          // or OnnxCausalLM.builder(path).build()
            int window = lm.maxPositionEmbeddings();                                   // the model's positions
            PerplexityResult p = Perplexity.builder().maxLength(window).stride(window / 2).build().compute(lm, tokenizedDocs);
            p.perplexity(); p.meanNll(); p.documents().get(0).nll();
        }
        // end example
    }

    @Test
    void domainRelevance() {
        List<String> domainCorpus = List.of("claim the travel insurance premium", "bank card payment and refund");
        List<String> generalCorpus = List.of("the weather is nice today", "a recipe for bread");
        TextEmbedder encoder = texts -> texts.stream()
                .map(t -> new float[] {t.length(), t.chars().filter(c -> c == ' ').count(), 1f})
                .toArray(float[][]::new);
        List<String> modelOutputs = List.of("pay the insurance premium by card", "bread and weather");
        double[] inDomainScores = {0.9, 0.8, 0.7};
        double[] outOfDomainScores = {0.1, 0.2, 0.75};
        // example eval/README.md#4
        RelevanceScorer lexical = DomainRelevance.lexical(domainCorpus, generalCorpus);          // background optional
        RelevanceScorer semantic = DomainRelevance.embedding(encoder, domainCorpus, generalCorpus); // any TextEmbedder
        CorpusRelevance c = DomainRelevance.corpusScore(lexical, modelOutputs);   // c.mean(), c.low(), c.high(), c.perText()
        double auc = DomainRelevance.rocAuc(inDomainScores, outOfDomainScores);
        // end example
        assertEquals(2, c.perText().size());
        assertEquals(8.0 / 9.0, auc, 1e-12, "8 of the 9 (in, out) pairs are ordered");
        assertTrue(Double.isFinite(semantic.score("card payment")));
    }

    @Test
    void abTest() {
        List<Preference> judgments = List.of(Preference.A, Preference.A, Preference.A, Preference.B, Preference.TIE);
        // example eval/README.md#5
        AbTestResult ab = AbTest.builder().alpha(0.05).build().evaluate(judgments);   // List<Preference>: A, B, TIE
        ab.winRate(); ab.winRateTiesHalf(); ab.wilsonLow(); ab.wilsonHigh(); ab.pValue(); ab.verdict(); ab.reason();
        int n = AbTest.minimumSampleSize(0.70, 0.05, 0.80);   // 47 decisive judgments to detect a 70% preference
        // end example
        assertEquals(0.75, ab.winRate(), 1e-12, "3 of the 4 decisive judgments");
        assertEquals(47, n, "the README's own comment");
    }

    @Test
    void gateMonitorAndReports() throws Exception {
        EvalReport baselineReport = EvalReport.builder("base").metric("rougeL", 0.30).metric("perplexity", 8.0).build();
        EvalReport candidateReport = EvalReport.builder("lora").metric("rougeL", 0.40).metric("perplexity", 6.0).build();
        double value = 0.35;
        // example eval/README.md#6
        PromotionGate gate = PromotionGate.of(
                GateRule.higherIsBetter("rougeL").maxRegression(0.005).minGain(0.01),
                GateRule.lowerIsBetter("perplexity").maxRegression(0.05).relative(true));
        GateDecision d = gate.evaluate(candidateReport, baselineReport);   // PROMOTE, HOLD or ROLLBACK, d.reasons()

        OnlineMonitor m = gate.monitor(baselineReport.metrics(), 500, 100);  // rolling window, minimum samples
        if (m.observe("rougeL", value).rollback()) { /* route traffic back to the baseline */ }

        EvalReport cand = EvalReport.builder("lora-r16").metric("rougeL", 0.41).interval("drs", 0.71, 0.78)
                .loss(10, 2.31).loss(20, 1.87).meta("dataset", "bank-faq").build();
        Reports.writeJson(cand, Path.of("out/candidate.json"));
        Reports.writeHtml(cand, baselineReport, d, Path.of("out/report.html"));
        // end example
        assertEquals(GateVerdict.PROMOTE, d.verdict(), d.reasons().toString());
        assertTrue(Files.size(Path.of("out/report.html")) > 0);
        assertTrue(Files.readString(Path.of("out/candidate.json")).contains("bank-faq"));
    }

    @Test
    void functionCalling() {
        // example eval/README.md#7
        List<List<ToolCall>> expected = List.of(List.of(ToolCall.of("get_weather", "{\"city\": \"Paris\"}")), List.of());
        List<List<ToolCall>> predicted = List.of(List.of(ToolCall.of("get_weather", "{\"city\":\"Paris\"}")),
                List.of(ToolCall.of("get_time", "{\"zone\": \"CET\"}")));
        ToolCallScore s = ToolCallMetrics.score(predicted, expected);
        s.exactMatch(); s.decisionAccuracy();          // 0.5, 0.5: the second example called where it should have answered
        s.nameF1(); s.argumentF1();                    // 2/3 each: one of two calls made was expected, with its argument
        // end example
        assertEquals(0.5, s.exactMatch(), 1e-12);
        assertEquals(0.5, s.decisionAccuracy(), 1e-12);
        assertEquals(2.0 / 3, s.nameF1(), 1e-12);
        assertEquals(2.0 / 3, s.argumentF1(), 1e-12);
    }
}
