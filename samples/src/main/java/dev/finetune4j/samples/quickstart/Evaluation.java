package dev.finetune4j.samples.quickstart;

import dev.finetune4j.core.models.CausalLM;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.eval.Bleu;
import dev.finetune4j.eval.CorpusRelevance;
import dev.finetune4j.eval.DomainRelevance;
import dev.finetune4j.eval.EvalReport;
import dev.finetune4j.eval.Perplexity;
import dev.finetune4j.eval.RelevanceScorer;
import dev.finetune4j.eval.Rouge;

import java.util.List;

/**
 * Steps 3 and 5: scores a model on the test split. Perplexity of the whole question + answer documents (lower is
 * better); and over the model's greedy answers: corpus BLEU (sacreBLEU, {@code zh} tokenizer so Chinese is scored
 * per character), ROUGE-L F1 (rouge-score with the CJK tokenizer, mean over pairs, x100) and the lexical domain
 * relevance score of the answers (x100; domain corpus: the training answers, background: the general corpus),
 * with its bootstrap 95% interval.
 */
final class Evaluation {
    static final String PERPLEXITY = "perplexity";
    static final String BLEU = "bleu";
    static final String ROUGE_L = "rougeL";
    static final String DRS = "drs";

    private final Tokenizer tok;
    private final List<QaExample> test;
    private final RelevanceScorer domain;
    private final int answerTokens;

    Evaluation(Tokenizer tok, List<QaExample> test, RelevanceScorer domain, int answerTokens) {
        this.tok = tok;
        this.test = test;
        this.domain = domain;
        this.answerTokens = answerTokens;
    }

    /**
     * The scores of one model.
     *
     * @param report  metrics as an eval report (for the gate and the HTML page)
     * @param answers the model's answers, in test order
     */
    record Scores(EvalReport report, List<String> answers) {
        double metric(String name) {
            return report.metrics().get(name);
        }
    }

    /** Scores {@code model} (which both generates and gives logits: a base model or one with an adapter). */
    <M extends LogitsModel & CausalLM> Scores score(String name, M model) {
        List<long[]> docs = test.stream().map(e -> tok.encode(e.document())).toList();
        double ppl = Perplexity.builder().build().compute(model, docs).perplexity();
        List<String> answers = Answering.answers(model, tok, test, answerTokens);
        List<String> refs = test.stream().map(QaExample::answer).toList();
        double bleu = Bleu.builder().tokenize("zh").build().corpusScore(answers, List.of(refs)).score();
        double rougeL = 100 * Rouge.builder().rougeTypes("rougeL").cjk(true).build()
                .corpusScore(answers, List.of(refs)).get("rougeL").fmeasure();
        CorpusRelevance drs = DomainRelevance.corpusScore(domain, answers, DomainRelevance.DEFAULT_BOOTSTRAP, 7);
        EvalReport report = EvalReport.builder(name)
                .metric(PERPLEXITY, ppl).metric(BLEU, bleu).metric(ROUGE_L, rougeL).metric(DRS, 100 * drs.mean())
                .interval(DRS, 100 * drs.low(), 100 * drs.high())
                .meta("test_examples", String.valueOf(test.size())).build();
        return new Scores(report, answers);
    }
}
