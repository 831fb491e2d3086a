package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.eval.EvalReport;
import dev.finetune4j.eval.GateDecision;
import dev.finetune4j.eval.GateRule;
import dev.finetune4j.eval.PromotionGate;
import dev.finetune4j.eval.Reports;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code finetune4j gate}: the promotion gate ({@link PromotionGate}) between a candidate's metrics and the baseline's,
 * as a step of a deployment pipeline: PROMOTE, HOLD or ROLLBACK with one reason per rule, told by the exit code too.
 */
@Command(name = "gate", mixinStandardHelpOptions = true,
        description = {"Compare a candidate model's metrics with the baseline's, rule by rule, and answer PROMOTE, HOLD "
                + "(a metric missing, or a gain below the one required) or ROLLBACK (a regression beyond the one allowed).",
                "Reports are JSON files with a \"metrics\" object of numbers: what 'finetune4j eval --output' writes, "
                        + "and EvalReport files (Reports.writeJson)."},
        footer = {"", "Examples:",
                "  finetune4j gate --candidate runs/v2/eval.json --baseline runs/v1/eval.json --rule bleu:higher:0.5 "
                        + "--rule perplexity:lower:5%%",
                "  finetune4j gate --candidate new.json --baseline prod.json --rule rougeL:higher:0:1 --html gate.html",
                "", "Exit codes: 0 PROMOTE, 3 HOLD, 4 ROLLBACK, 1 failed while running, 2 bad input (files, rules)."})
final class GateCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Option(names = "--candidate", required = true, paramLabel = "FILE", description = "The new model's metrics (JSON).")
    Path candidate;

    @Option(names = "--baseline", required = true, paramLabel = "FILE", description = "The deployed model's metrics (JSON).")
    Path baseline;

    @Option(names = "--rule", required = true, paramLabel = GateRuleOption.SYNTAX, converter = GateRuleOption.class,
            description = {"One per metric to judge: which values are better, the largest regression allowed (default "
                    + "0) and the smallest gain required (default none), in the metric's units or as percentages of "
                    + "the baseline (perplexity:lower:5%%)."})
    List<GateRule> rules;

    @Option(names = "--html", paramLabel = "FILE", description = "Also write the comparison as a self-contained HTML page.")
    Path html;

    @Override
    public Integer call() {
        PromotionGate gate;
        try {
            gate = PromotionGate.of(rules);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--rule: " + e.getMessage(), e);
        }
        EvalReport cand = read(candidate, "candidate");
        EvalReport base = read(baseline, "baseline");
        for (GateRule rule : rules) {
            if (!cand.metrics().containsKey(rule.metric()) && !base.metrics().containsKey(rule.metric())) {
                throw new BadInputException("--rule " + rule.metric() + ": neither report has that metric; they have "
                        + cand.metrics().keySet() + " and " + base.metrics().keySet());
            }
        }
        GateDecision decision = gate.evaluate(cand, base);
        PrintWriter out = spec.commandLine().getOut();
        out.println(decision.verdict() + ": " + cand.model() + " against " + base.model());
        decision.outcomes().forEach(o -> out.println("  " + o.verdict() + "  " + o.reason()));
        out.flush();
        if (html != null) {
            Reports.writeHtml(cand, base, decision, html);
            out.println("wrote " + html.toAbsolutePath());
            out.flush();
        }
        return switch (decision.verdict()) {
            case PROMOTE -> ExitCodes.OK;
            case HOLD -> ExitCodes.HOLD;
            case ROLLBACK -> ExitCodes.ROLLBACK;
        };
    }

    /**
     * The numbers of the file's {@code metrics} object as a report named by its {@code model} field, else by the
     * file; other values there (a BLEU signature) are left out.
     */
    private static EvalReport read(Path file, String role) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new BadInputException("cannot read the " + role + " report " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
        JsonNode metrics = root == null ? null : root.get("metrics");
        if (metrics == null || !metrics.isObject()) {
            throw new BadInputException("the " + role + " report " + file.toAbsolutePath() + " has no \"metrics\" object; "
                    + "give a file written by 'finetune4j eval --output' or Reports.writeJson");
        }
        EvalReport.Builder report = EvalReport.builder(root.path("model").isTextual() ? root.get("model").asText()
                : file.getFileName().toString());
        for (Map.Entry<String, JsonNode> e : metrics.properties()) {
            if (e.getValue().isNumber()) {
                report.metric(e.getKey(), e.getValue().asDouble());
            }
        }
        return report.build();
    }
}
