package dev.finetune4j.samples.quickstart;

import dev.finetune4j.eval.EvalReport;
import dev.finetune4j.eval.GateRule;
import dev.finetune4j.eval.PromotionGate;

import java.util.List;
import java.util.Locale;

/**
 * The before/after table: one row per metric, one column per model, and the gain of the last column over the first
 * in the promotion gate's convention (positive is better; perplexity as a relative change), so the table and the
 * gate's reasons read alike.
 */
final class ResultsTable {
    private static final String[][] ROWS = {
            {Evaluation.PERPLEXITY, "perplexity (lower is better)"},
            {Evaluation.BLEU, "BLEU"},
            {Evaluation.ROUGE_L, "ROUGE-L F1 x100"},
            {Evaluation.DRS, "domain relevance x100"}};

    private ResultsTable() {
    }

    static String render(List<EvalReport> columns, PromotionGate gate) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "  %-30s", "metric (test split)"));
        for (EvalReport c : columns) {
            sb.append(String.format(Locale.ROOT, "%14s", c.model()));
        }
        sb.append(String.format(Locale.ROOT, "%20s%n", "vs base (+ better)"));
        for (String[] row : ROWS) {
            sb.append(String.format(Locale.ROOT, "  %-30s", row[1]));
            for (EvalReport c : columns) {
                sb.append(String.format(Locale.ROOT, "%14s", format(c.metrics().get(row[0]))));
            }
            double first = columns.getFirst().metrics().get(row[0]);
            double last = columns.getLast().metrics().get(row[0]);
            GateRule rule = gate.rules().stream().filter(r -> r.metric().equals(row[0])).findFirst().orElseThrow();
            double gain = rule.improvement(last, first);
            sb.append(String.format(Locale.ROOT, "%20s%n", Double.isNaN(gain) ? "n/a" : rule.relative()
                    ? String.format(Locale.ROOT, "%+.2f%%", 100 * gain) : String.format(Locale.ROOT, "%+.2f", gain)));
        }
        return sb.toString();
    }

    private static String format(Double v) {
        return v == null || v.isNaN() ? "n/a" : String.format(Locale.ROOT, "%.2f", v);
    }
}
