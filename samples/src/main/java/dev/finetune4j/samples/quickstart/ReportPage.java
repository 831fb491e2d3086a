package dev.finetune4j.samples.quickstart;

import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.pipeline.StepReport;
import dev.finetune4j.eval.AbTestResult;
import dev.finetune4j.eval.EvalReport;
import dev.finetune4j.eval.GateDecision;
import dev.finetune4j.eval.HtmlReport;
import dev.finetune4j.peft.train.TrainResult;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Step 7b: {@code report.html}, the gate's comparison with the SFT and DPO loss curves as separate charts, the
 * data summary, the A/B statistics (of the bundled sample judgments) and sample answers of every model.
 */
final class ReportPage {
    private static final int SAMPLES = 5;

    private ReportPage() {
    }

    static void write(Path file, EvalReport candidate, EvalReport baseline, GateDecision decision, TrainResult sft,
                      TrainResult dpo, PipelineReport data, AbTestResult ab, List<QaExample> test,
                      List<Evaluation.Scores> columns) throws IOException {
        List<HtmlReport.LossCurve> curves = List.of(curve("LoRA SFT", sft), curve("DPO", dpo));
        List<HtmlReport.Section> sections = List.of(dataSummary(data), abResult(ab), samples(test, columns));
        Files.writeString(file, HtmlReport.render(candidate, baseline, decision, curves, sections), StandardCharsets.UTF_8);
    }

    private static HtmlReport.LossCurve curve(String name, TrainResult run) {
        List<EvalReport.LossPoint> points = new ArrayList<>();
        for (int i = 0; i < run.lossHistory().size(); i++) {
            points.add(new EvalReport.LossPoint(i + 1, run.lossHistory().get(i)));
        }
        return new HtmlReport.LossCurve(name + " (" + run.steps() + " steps)", points);
    }

    private static HtmlReport.Section dataSummary(PipelineReport r) {
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("step", "kept", "changed", "dropped", "details"));
        rows.add(List.of("read " + r.inputs().getFirst().file(), Long.toString(r.inputs().getFirst().records()), "", "",
                "quarantined " + r.quarantined() + " " + r.quarantinedByKind()));
        for (StepReport s : r.steps()) {
            rows.add(List.of(s.name(), Long.toString(s.kept()), Long.toString(s.changed()), Long.toString(s.dropped()),
                    (s.dropReasons().isEmpty() ? "" : s.dropReasons().toString())
                            + (s.tallies().isEmpty() ? "" : s.tallies().toString())));
        }
        r.outputs().forEach(f -> rows.add(List.of(f.file(), Long.toString(f.records()), "", "", "split")));
        return new HtmlReport.Section("Data", rows);
    }

    private static HtmlReport.Section abResult(AbTestResult ab) {
        return new HtmlReport.Section("A/B statistics of the bundled sample judgments (example data, not judgments of this run)",
                List.of(List.of("A (candidate)", "B (baseline)", "ties", "win rate, ties as half", "Wilson 95%", "sign test p", "verdict"),
                        List.of(Long.toString(ab.winsA()), Long.toString(ab.winsB()), Long.toString(ab.ties()),
                                pct(ab.winRateTiesHalf()), "[" + pct(ab.wilsonLow()) + ", " + pct(ab.wilsonHigh()) + "]",
                                String.format(Locale.ROOT, "%.2g", ab.pValue()), ab.verdict().toString())));
    }

    private static HtmlReport.Section samples(List<QaExample> test, List<Evaluation.Scores> columns) {
        List<List<String>> rows = new ArrayList<>();
        List<String> header = new ArrayList<>(List.of("question", "reference"));
        columns.forEach(c -> header.add(c.report().model()));
        rows.add(header);
        for (int i = 0; i < Math.min(SAMPLES, test.size()); i++) {
            List<String> row = new ArrayList<>(List.of(test.get(i).question(), test.get(i).answer()));
            for (Evaluation.Scores c : columns) {
                row.add(c.answers().get(i));
            }
            rows.add(row);
        }
        return new HtmlReport.Section("Sample answers (test split)", rows);
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }
}
