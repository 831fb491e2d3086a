package dev.finetune4j.samples.quickstart;

import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.data.pipeline.PipelineOutputs;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.pipeline.StepReport;
import dev.finetune4j.eval.AbTestResult;
import dev.finetune4j.eval.DomainRelevance;
import dev.finetune4j.eval.EvalReport;
import dev.finetune4j.eval.GateDecision;
import dev.finetune4j.samples.cli.PrecisionOption;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The quickstart's steps in order, printing as it goes: data, base model, baseline evaluation, LoRA SFT,
 * evaluation, DPO and A/B statistics, the promotion gate with reports and saved models, the before/after table and
 * where everything is.
 */
final class QuickstartRun {
    private final QuickstartSettings s;
    private final Workspace ws;
    private final Path baseDir;
    private final LoadOptions load;
    private final Precision precision;
    private final PrintStream out;
    private final Tokenizer tok = new ByteLevelTokenizer();
    private long started;

    QuickstartRun(QuickstartSettings s, Workspace ws, Path baseDir, Device device, Precision precision,
                  PrintStream out) {
        this.s = s;
        this.ws = ws;
        this.baseDir = baseDir;
        this.load = LoadOptions.builder().device(device).build();
        this.precision = precision;
        this.out = out;
    }

    /** Runs every stage; the SFT and DPO trainers, evaluation and generation compute in the run's precision. */
    void run() throws IOException {
        try (var numbers = precision.use()) {
            stages();
        }
    }

    private void stages() throws IOException {
        started = System.nanoTime();
        out.printf("finetune4j quickstart: seed %d, device %s (%s), %d CPU cores, output in %s%n", s.seed(),
                load.device(), PrecisionOption.label(precision), Runtime.getRuntime().availableProcessors(),
                ws.root().toAbsolutePath());
        ws.extractBundledData();

        section("1/7 data: clean, redact PII, deduplicate, split");
        PipelineReport prep = DataStage.run(ws.raw(Workspace.SUPPORT), ws.data(), s.seed());
        printPipeline(prep);
        PipelineOutputs prepared = PipelineOutputs.open(ws.data());
        List<QaExample> train = QaExample.of(prepared.records("train"));
        List<QaExample> validation = QaExample.of(prepared.records("validation"));
        List<QaExample> test = QaExample.of(prepared.records("test"));

        section("2/7 base model: tiny LLaMA (byte-level), pretrained on the general corpus");
        BaseModelCache.ensure(baseDir, ws.raw(Workspace.GENERAL), s.pretraining(), out);

        Evaluation evaluation = new Evaluation(tok, test, DomainRelevance.lexical(
                train.stream().map(QaExample::answer).toList(), BasePretraining.texts(ws.raw(Workspace.GENERAL))),
                s.answerTokens());
        List<Evaluation.Scores> columns = new ArrayList<>();
        section("3/7 evaluate the base model on the test split (" + test.size() + " questions)");
        try (LanguageModel base = AutoModel.loadCausalLM(baseDir, load)) {
            columns.add(evaluation.score("base", base));
        }
        printSample(test, columns.getLast());

        section("4/7 LoRA SFT (validation every epoch, early stopping)");
        SftStage.Result sft = SftStage.run(baseDir, load, precision, train, validation, s, ws.runs().resolve("sft"));
        out.println("  " + sft.model().trainableReport());
        out.println("  " + sft.training().summary());
        try (var model = sft.model()) {
            section("5/7 evaluate the fine-tuned model");
            columns.add(evaluation.score("lora-sft", model));
            printSample(test, columns.getLast());

            section("6/7 preference tuning (DPO) from the feedback log; A/B judgments");
            DpoStage.Result dpo = DpoStage.run(model, precision, ws.raw(Workspace.FEEDBACK), test,
                    ws.preference().resolve("dpo_pairs.jsonl"), s);
            printDpo(dpo);
            columns.add(evaluation.score("sft+dpo", model));
            AbTestResult ab = AbStage.run(ws.raw(Workspace.JUDGMENTS));
            printAb(ab);

            section("7/7 promotion gate, reports, adapter and merged model");
            // the candidate replaces the SFT model, so that is what it must not be worse than
            EvalReport baseline = columns.get(1).report();
            EvalReport candidate = columns.getLast().report();
            GateDecision decision = GateStage.run(candidate, baseline);
            out.println("  gate: " + decision.verdict() + " (sft+dpo against lora-sft, the model it would replace)");
            decision.reasons().forEach(r -> out.println("    - " + r));
            ReportPage.write(ws.reportHtml(), candidate, baseline, decision, sft.training(), dpo.training(), prep, ab, test,
                    columns);
            double mergedPpl = Deliverables.save(model, ws.adapter(), ws.merged(), load, tok, test);
            out.printf(Locale.ROOT, "  merged model reloaded from disk: perplexity %.4f (adapter model: %.4f)%n",
                    mergedPpl, candidate.metrics().get(Evaluation.PERPLEXITY));

            List<EvalReport> reports = columns.stream().map(Evaluation.Scores::report).toList();
            new ResultsFile(s).data(prep).models(reports)
                    .put("sft", sft.training().summary()).put("dpo", Map.of("pairs", dpo.pairs(),
                            "held_out_test_prompts", dpo.heldOut(), "pair_accuracy_sft", dpo.pairAccuracy(false),
                            "pair_accuracy_dpo", dpo.pairAccuracy(true), "reward_margin", dpo.rewardMargin()))
                    .ab(ab).gate(decision).put("merged_perplexity", mergedPpl)
                    .put("timings", Map.of("total_seconds", (System.nanoTime() - started) / 1e9))
                    .write(ws.resultsJson());

            out.printf("%nbefore/after on the test split (%d questions):%n", test.size());
            out.print(ResultsTable.render(reports, GateStage.gate()));
            printWhere();
        }
        out.printf(Locale.ROOT, "%ndone in %s%n", elapsed());
    }

    private void printDpo(DpoStage.Result dpo) {
        out.printf(Locale.ROOT, "  feedback log: %d events -> %d pairs (%d ties dropped); %d pairs held out because "
                        + "their prompt is a test question; trained on %d%n", dpo.stats().overall().events(),
                dpo.stats().overall().pairs(), dpo.stats().overall().ties(), dpo.heldOut(), dpo.pairs());
        out.printf(Locale.ROOT, "  DPO: %s%n", dpo.training().summary());
        out.printf(Locale.ROOT, "  pair accuracy (the model finds the chosen answer more likely): SFT %.0f%% -> DPO %.0f%% "
                        + "of the %d pairs; reward margin against the SFT model %+.3f%n", 100 * dpo.pairAccuracy(false),
                100 * dpo.pairAccuracy(true), dpo.pairs(), dpo.rewardMargin());
    }

    private void printAb(AbTestResult ab) {
        out.printf(Locale.ROOT, "  A/B statistics of the bundled sample judgments (example data shipped with the quickstart, "
                + "not judgments of this run's models):%n");
        out.printf(Locale.ROOT, "  A/B judgments (A = candidate): %d A, %d B, %d ties; win rate %.1f%% (ties as half "
                        + "%.1f%%), Wilson 95%% [%.1f%%, %.1f%%], sign test p = %.2g -> %s%n", ab.winsA(), ab.winsB(),
                ab.ties(), 100 * ab.winRate(), 100 * ab.winRateTiesHalf(), 100 * ab.wilsonLow(), 100 * ab.wilsonHigh(),
                ab.pValue(), ab.verdict());
        out.println("    " + ab.reason());
    }

    private void printWhere() {
        out.println();
        out.println("where everything is:");
        String[][] rows = {
                {"clean splits + manifest", ws.data().toString()},
                {"quarantined input lines", ws.data().resolve("quarantine.jsonl").toString()},
                {"DPO pairs (TRL format)", ws.preference().resolve("dpo_pairs.jsonl").toString()},
                {"adapter (PEFT format)", ws.adapter().toString()},
                {"merged model (HF folder)", ws.merged().toString()},
                {"HTML report", ws.reportHtml().toString()},
                {"JSON results", ws.resultsJson().toString()},
                {"cached base model", baseDir.toString()}};
        for (String[] r : rows) {
            out.printf("  %-26s %s%n", r[0], Path.of(r[1]).toAbsolutePath().normalize());
        }
    }

    private void printPipeline(PipelineReport r) {
        out.printf("  read %d records from %s, quarantined %d bad lines %s%n", r.inputs().getFirst().records(),
                r.inputs().getFirst().file(), r.quarantined(), r.quarantinedByKind());
        for (StepReport step : r.steps()) {
            out.printf("  %-12s kept %4d  changed %4d  dropped %4d  %s%s%n", step.name(), step.kept(), step.changed(),
                    step.dropped(), step.dropReasons().isEmpty() ? "" : step.dropReasons(),
                    step.tallies().isEmpty() ? "" : step.tallies());
        }
        r.outputs().forEach(f -> out.printf("  %-16s %4d records%n", f.file(), f.records()));
    }

    private void printSample(List<QaExample> test, Evaluation.Scores scores) {
        for (int i = 0; i < Math.min(2, test.size()); i++) {
            out.printf("  Q: %s%n     reference: %s%n     model:     %s%n", test.get(i).question(), test.get(i).answer(),
                    scores.answers().get(i));
        }
    }

    private void section(String title) {
        out.printf("%n[%s] %s%n", elapsed(), title);
    }

    private String elapsed() {
        long sec = (System.nanoTime() - started) / 1_000_000_000L;
        return String.format(Locale.ROOT, "%d:%02d", sec / 60, sec % 60);
    }
}
