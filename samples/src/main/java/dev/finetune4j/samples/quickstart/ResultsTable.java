package dev.finetune4j.samples.quickstart;

import dev.finetune4j.eval.EvalReport;

import java.util.List;
import java.util.Locale;

/** The before/after table: one row per metric, one column per model, and the change from the first column. */
final class ResultsTable {
    private static final String[][] ROWS = {
            {Evaluation.PERPLEXITY, "perplexity (lower is better)"},
            {Evaluation.BLEU, "BLEU"},
            {Evaluation.ROUGE_L, "ROUGE-L F1 x100"},
            {Evaluation.DRS, "domain relevance x100"}};

    private ResultsTable() {
    }

    static String render(List<EvalReport> columns) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "  %-30s", "metric (test split)"));
        for (EvalReport c : columns) {
            sb.append(String.format(Locale.ROOT, "%14s", c.model()));
        }
        sb.append(String.format(Locale.ROOT, "%12s%n", "change"));
        for (String[] row : ROWS) {
            sb.append(String.format(Locale.ROOT, "  %-30s", row[1]));
            for (EvalReport c : columns) {
                sb.append(String.format(Locale.ROOT, "%14s", format(c.metrics().get(row[0]))));
            }
            double first = columns.getFirst().metrics().get(row[0]);
            double last = columns.getLast().metrics().get(row[0]);
            sb.append(String.format(Locale.ROOT, "%12s%n", Double.isNaN(first - last) ? "n/a"
                    : String.format(Locale.ROOT, "%+.2f", last - first)));
        }
        return sb.toString();
    }

    private static String format(Double v) {
        return v == null || v.isNaN() ? "n/a" : String.format(Locale.ROOT, "%.2f", v);
    }
}
