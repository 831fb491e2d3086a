package dev.finetune4j.samples.cli;

import dev.finetune4j.eval.EvalReport;
import dev.finetune4j.eval.GateRule;
import dev.finetune4j.eval.Reports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code finetune4j gate}: verdicts and exit codes on hand-computed metric pairs, the report files it reads, bad input. */
class GateCommandTest {
    @TempDir
    Path dir;

    /** A file as 'finetune4j eval --output' writes it: metrics with a text value beside the numbers. */
    private Path evalOutput(String name, double bleu, double perplexity) throws IOException {
        Path file = dir.resolve(name + ".json");
        Files.writeString(file, """
                {"predictions": ["a", "b"],
                 "metrics": {"perplexity": %s, "bleu": %s, "bleu_signature": "nrefs:1|case:mixed|tok:13a", "rougeL": 40.0}}
                """.formatted(perplexity, bleu));
        return file;
    }

    private static CliTestSupport.Run gate(Path candidate, Path baseline, String... rules) {
        List<String> args = new ArrayList<>(List.of("gate", "--candidate", candidate.toString(), "--baseline", baseline.toString()));
        for (String rule : rules) {
            args.addAll(List.of("--rule", rule));
        }
        return CliTestSupport.run(args.toArray(String[]::new));
    }

    @Test
    void promotesWhenEveryRulePasses() throws IOException {
        // bleu +1.0 (allowed regression 0.5); perplexity 5.0 -> 5.2 is 4% worse (allowed 5%)
        CliTestSupport.Run r = gate(evalOutput("v2", 31.0, 5.2), evalOutput("v1", 30.0, 5.0),
                "bleu:higher:0.5", "perplexity:lower:5%");
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().startsWith("PROMOTE: v2.json against v1.json"), r.out());
        assertTrue(r.out().contains("perplexity: candidate 5.20000 vs baseline 5.00000 (lower is better), change -4.000%"),
                r.out());
    }

    @Test
    void rollsBackOnARegressionBeyondItsAllowance() throws IOException {
        // perplexity 5.0 -> 5.6 is 12% worse, beyond 5%
        CliTestSupport.Run r = gate(evalOutput("v2", 31.0, 5.6), evalOutput("v1", 30.0, 5.0),
                "bleu:higher", "perplexity:lower:5%");
        assertEquals(ExitCodes.ROLLBACK, r.exitCode(), r.out());
        assertTrue(r.out().contains("ROLLBACK  perplexity: candidate 5.60000 vs baseline 5.00000 (lower is better), "
                + "change -12.00% regresses beyond the allowed 5.000%"), r.out());
    }

    @Test
    void holdsWhenAGainIsBelowTheOneRequiredOrAMetricIsMissingFromOneReport() throws IOException {
        CliTestSupport.Run small = gate(evalOutput("v2", 30.4, 5.0), evalOutput("v1", 30.0, 5.0), "bleu:higher:0:1");
        assertEquals(ExitCodes.HOLD, small.exitCode(), small.out());
        assertTrue(small.out().contains("is below the required gain 1.000"), small.out());

        Path older = dir.resolve("older.json");
        Files.writeString(older, "{\"metrics\": {\"bleu\": 30.0}}");
        CliTestSupport.Run missing = gate(evalOutput("v2", 31.0, 5.0), older, "bleu:higher", "perplexity:lower");
        assertEquals(ExitCodes.HOLD, missing.exitCode(), missing.out());
        assertTrue(missing.out().contains("perplexity: missing from the baseline report"), missing.out());
    }

    /** Two runs of {@code eval --output} over predictions, gated: the closer answers are promoted, the others not. */
    @Test
    void gatesWhatEvalWrote() throws IOException {
        String[] references = {"the gold card costs 200 yuan a year", "the silver card costs 100 yuan a year"};
        Path close = predictions("close", references, new String[] {"the gold card costs 200 yuan a year",
                "the silver card costs 100 yuan"});
        Path far = predictions("far", references, new String[] {"it costs money", "ask the bank"});
        for (String name : new String[] {"close", "far"}) {
            CliTestSupport.Run r = CliTestSupport.run("eval", "--predictions", dir.resolve(name + ".jsonl").toString(),
                    "--output", dir.resolve(name + ".json").toString());
            assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        }
        CliTestSupport.Run better = gate(close, far, "bleu:higher", "rougeL:higher");
        assertEquals(ExitCodes.OK, better.exitCode(), better.out());
        assertTrue(better.out().startsWith("PROMOTE: " + dir.resolve("close.jsonl") + " against "), better.out());
        assertEquals(ExitCodes.ROLLBACK, gate(far, close, "bleu:higher", "rougeL:higher").exitCode());
    }

    /** Writes NAME.jsonl of predictions and references; returns the path eval's report of it will have. */
    private Path predictions(String name, String[] references, String[] predictions) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < references.length; i++) {
            lines.add("{\"prediction\": \"" + predictions[i] + "\", \"reference\": \"" + references[i] + "\"}");
        }
        Files.write(dir.resolve(name + ".jsonl"), lines);
        return dir.resolve(name + ".json");
    }

    @Test
    void readsEvalReportFilesAndWritesTheHtmlPage() {
        Path cand = dir.resolve("cand.json");
        Path base = dir.resolve("base.json");
        Reports.writeJson(EvalReport.builder("lora-r16").metric("rougeL", 41.5).build(), cand);
        Reports.writeJson(EvalReport.builder("prod").metric("rougeL", 40.0).build(), base);
        Path html = dir.resolve("out/gate.html");
        CliTestSupport.Run r = CliTestSupport.run("gate", "--candidate", cand.toString(), "--baseline", base.toString(),
                "--rule", "rougeL:higher:0.5:1", "--html", html.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().startsWith("PROMOTE: lora-r16 against prod"), r.out());
        assertTrue(Files.isRegularFile(html), r.out());
    }

    @Test
    void badRulesAndFilesAreBadInputSayingWhatToFix() throws IOException {
        Path a = evalOutput("a", 30, 5);
        CliTestSupport.Run typo = gate(a, a, "blue:higher");
        assertEquals(ExitCodes.BAD_INPUT, typo.exitCode());
        assertTrue(typo.err().contains("--rule blue: neither report has that metric")
                && typo.err().contains("bleu"), typo.err());
        CliTestSupport.Run direction = gate(a, a, "bleu:up");
        assertEquals(ExitCodes.BAD_INPUT, direction.exitCode());
        assertTrue(direction.err().contains("'up' is not higher or lower"), direction.err());
        CliTestSupport.Run twice = gate(a, a, "bleu:higher", "bleu:higher:1");
        assertEquals(ExitCodes.BAD_INPUT, twice.exitCode());
        assertTrue(twice.err().contains("two rules for metric 'bleu'"), twice.err());
        Path noMetrics = dir.resolve("predictions.jsonl");
        Files.writeString(noMetrics, "{\"prediction\": \"x\"}");
        CliTestSupport.Run file = gate(noMetrics, a, "bleu:higher");
        assertEquals(ExitCodes.BAD_INPUT, file.exitCode());
        assertTrue(file.err().contains("has no \"metrics\" object"), file.err());
        CliTestSupport.Run absent = gate(dir.resolve("absent.json"), a, "bleu:higher");
        assertEquals(ExitCodes.BAD_INPUT, absent.exitCode());
        assertTrue(absent.err().contains("cannot read the candidate report"), absent.err());
    }

    @Test
    void ruleSyntax() {
        GateRuleOption option = new GateRuleOption();
        assertEquals(new GateRule("perplexity", false, 0.05, 0.01, true), option.convert("perplexity:lower:5%:1%"));
        assertEquals(new GateRule("bleu", true, 0.5, Double.NaN, false), option.convert("bleu:higher:0.5"));
        assertEquals(new GateRule("f1", true, 0, Double.NaN, false), option.convert("f1:higher"));
        assertThrows(IllegalArgumentException.class, () -> option.convert("bleu:higher:5%:1"), "mixed units");
        assertThrows(IllegalArgumentException.class, () -> option.convert("bleu:higher:-1"), "a negative allowance");
        assertThrows(IllegalArgumentException.class, () -> option.convert("bleu:higher:NaN"));
        assertThrows(IllegalArgumentException.class, () -> option.convert("bleu"));
        assertFalse(option.convert("x:lower:0:0").relative());
    }
}
