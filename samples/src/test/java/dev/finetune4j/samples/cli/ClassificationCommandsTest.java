package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.eval.Average;
import dev.finetune4j.eval.ClassificationMetrics;
import dev.finetune4j.eval.ClassificationReport;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train} with {@code task: classification} and {@code eval --classification} on the quickstart's tiny LLaMA
 * (a causal LM folder, so the classifier gets a new score head) with the byte-level tokenizer: tickets whose words
 * tell the class.
 */
class ClassificationCommandsTest {
    static final List<String> LABELS = List.of("billing", "refund", "other");
    static final List<String> WORDS = List.of("invoice charge", "money back", "hello there");

    @TempDir
    Path dir;

    @BeforeEach
    void tinyModelAndTickets() throws Exception {
        CliTestSupport.tinyModel(dir.resolve("model"));
        Files.write(dir.resolve("train.jsonl"), tickets(24, 0));
        Files.write(dir.resolve("validation.jsonl"), tickets(6, 100));
        Files.write(dir.resolve("test.jsonl"), tickets(9, 200));
    }

    /** Row i: class i mod 3, its words and a number that varies. */
    static List<String> tickets(int n, int from) {
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add("{\"text\": \"" + WORDS.get(i % 3) + " " + (from + i) + "\", \"label\": \"" + LABELS.get(i % 3) + "\"}");
        }
        return rows;
    }

    private Path config(String extra) throws Exception {
        Path file = dir.resolve("train.yaml");
        Files.writeString(file, """
                model: model
                tokenizer: byte-level
                task: classification
                labels: [billing, refund, other]
                method: lora
                peft: {r: 4, lora_alpha: 8, target_modules: [q_proj, v_proj]}
                data: {train: train.jsonl, validation: validation.jsonl, max_length: 48}
                training: {max_steps: 24, micro_batch_size: 4, learning_rate: 1.0e-2, seed: 1, eval_every_steps: 12}
                output: run
                """ + extra);
        return file;
    }

    @Test
    void trainsASeqClsAdapterThatEvalScoresAndGateReads() throws Exception {
        CliTestSupport.Run train = CliTestSupport.run("train", "-c", config("").toString());
        assertEquals(ExitCodes.OK, train.exitCode(), train.err());
        assertTrue(train.out().contains("classes: [billing, refund, other]"), train.out());
        Path adapter = dir.resolve("run/adapter");
        assertTrue(Files.readString(adapter.resolve("adapter_config.json")).contains("SEQ_CLS"));
        try (SafetensorsFile f = SafetensorsFile.open(adapter.resolve("adapter_model.safetensors"))) {
            assertTrue(f.names().contains("base_model.model.score.weight"), f.names().toString());
        }

        Path report = dir.resolve("eval.json");
        CliTestSupport.Run eval = CliTestSupport.run("eval", "--classification", "-m", dir.resolve("model").toString(),
                "--adapter", adapter.toString(), "--labels", "billing,refund,other", "--tokenizer", "byte-level",
                "-d", dir.resolve("test.jsonl").toString(), "-o", report.toString());
        assertEquals(ExitCodes.OK, eval.exitCode(), eval.err());
        JsonNode json = new ObjectMapper().readTree(report.toFile());
        // the report's predictions are the classifier's own argmax, recomputed here
        List<String> expected = predictions(adapter);
        List<String> reported = new ArrayList<>();
        json.get("predictions").forEach(p -> reported.add(p.asText()));
        assertEquals(expected, reported);
        int right = 0;
        for (int i = 0; i < expected.size(); i++) {
            right += expected.get(i).equals(LABELS.get(i % 3)) ? 1 : 0;
        }
        assertEquals(right / 9.0, json.get("metrics").get("accuracy").asDouble(), 1e-12);
        assertTrue(right >= 8, "the trained classifier separates the tickets: " + reported);
        assertTrue(eval.out().contains("f1_macro") && eval.out().contains("refund"), eval.out());

        CliTestSupport.Run gate = CliTestSupport.run("gate", "--candidate", report.toString(), "--baseline", report.toString(),
                "--rule", "f1_macro:higher:0");
        assertEquals(ExitCodes.OK, gate.exitCode(), gate.out() + gate.err());
    }

    private List<String> predictions(Path adapter) {
        List<String> out = new ArrayList<>();
        var tok = new ByteLevelTokenizer();
        try (var base = ClassifierInputs.load(dir.resolve("model"), Device.cpu(), LABELS, null, tok)) {
            PeftClassifier clf = Peft.load(base, adapter);
            for (int i = 0; i < 9; i++) {
                float[] logits = clf.logits(new long[][]{tok.encode(WORDS.get(i % 3) + " " + (200 + i))}, null)[0];
                int best = 0;
                for (int k = 1; k < logits.length; k++) {
                    best = logits[k] > logits[best] ? k : best;
                }
                out.add(LABELS.get(best));
            }
        }
        return out;
    }

    /**
     * {@code problem_type: multi_label_classification}: rows with lists of labels (any subset of three, the empty one
     * too) train a SEQ_CLS adapter; {@code eval --problem-type} reports, for each row, the classes the classifier scores
     * above 0 (recomputed here) and scikit-learn's multi-label metrics of them, which {@code gate} reads.
     */
    @Test
    void trainsAndEvaluatesAMultiLabelClassifier() throws Exception {
        Files.write(dir.resolve("train.jsonl"), multiLabelTickets(32, 0));
        Files.write(dir.resolve("validation.jsonl"), multiLabelTickets(8, 100));
        Files.write(dir.resolve("test.jsonl"), multiLabelTickets(8, 200));
        CliTestSupport.Run train = CliTestSupport.run("train", "-c", config("problem_type: multi_label_classification\n").toString());
        assertEquals(ExitCodes.OK, train.exitCode(), train.err());
        assertTrue(train.out().contains("classes (multi-label): [billing, refund, other]"), train.out());
        Path adapter = dir.resolve("run/adapter");
        try (SafetensorsFile f = SafetensorsFile.open(adapter.resolve("adapter_model.safetensors"))) {
            assertTrue(f.names().contains("base_model.model.score.weight"), f.names().toString());
        }

        Path report = dir.resolve("eval.json");
        CliTestSupport.Run eval = CliTestSupport.run("eval", "--classification", "-m", dir.resolve("model").toString(),
                "--adapter", adapter.toString(), "--labels", "billing,refund,other", "--problem-type",
                "multi_label_classification", "--tokenizer", "byte-level", "-d", dir.resolve("test.jsonl").toString(),
                "-o", report.toString());
        assertEquals(ExitCodes.OK, eval.exitCode(), eval.err());
        JsonNode json = new ObjectMapper().readTree(report.toFile());
        boolean[][] truth = new boolean[8][3];
        boolean[][] predicted = new boolean[8][3];
        var tok = new ByteLevelTokenizer();
        try (var base = ClassifierInputs.load(dir.resolve("model"), Device.cpu(), LABELS, "multi_label_classification", tok)) {
            PeftClassifier clf = Peft.load(base, adapter);
            for (int i = 0; i < 8; i++) {
                float[] logits = clf.logits(new long[][]{tok.encode(multiLabelText(i, 200))}, null)[0];
                List<String> names = new ArrayList<>();
                for (int j = 0; j < 3; j++) {
                    truth[i][j] = (i >> j & 1) == 1;
                    predicted[i][j] = logits[j] > 0;
                    if (predicted[i][j]) {
                        names.add(LABELS.get(j));
                    }
                }
                List<String> reported = new ArrayList<>();
                json.get("predictions").get(i).forEach(p -> reported.add(p.asText()));
                assertEquals(names, reported, "row " + i);
            }
        }
        ClassificationReport expected = ClassificationMetrics.computeMultiLabel(LABELS, truth, predicted);
        JsonNode m = json.get("metrics");
        assertEquals(expected.accuracy(), m.get("accuracy").asDouble(), 1e-12);
        assertEquals(expected.f1(Average.MICRO), m.get("f1_micro").asDouble(), 1e-12);
        assertEquals(expected.f1(Average.MACRO), m.get("f1_macro").asDouble(), 1e-12);
        assertEquals(expected.recall(Average.WEIGHTED), m.get("recall_weighted").asDouble(), 1e-12);
        assertEquals(expected.support("refund"), json.get("per_class").get("refund").get("support").asLong());

        CliTestSupport.Run gate = CliTestSupport.run("gate", "--candidate", report.toString(), "--baseline", report.toString(),
                "--rule", "f1_micro:higher:0");
        assertEquals(ExitCodes.OK, gate.exitCode(), gate.out() + gate.err());

        Files.write(dir.resolve("bad.jsonl"), List.of("{\"text\": \"invoice\", \"label\": \"billing\"}"));
        CliTestSupport.Run bad = CliTestSupport.run("eval", "--classification", "-m", dir.resolve("model").toString(),
                "--labels", "billing,refund,other", "--problem-type", "multi_label_classification", "--tokenizer",
                "byte-level", "-d", dir.resolve("bad.jsonl").toString());
        assertEquals(ExitCodes.BAD_INPUT, bad.exitCode(), bad.err());
        assertTrue(bad.err().contains("bad.jsonl line 1") && bad.err().contains("a list of label names 'labels'"), bad.err());
    }

    /** Row i has class j when bit j of i mod 8 is set: its words are those classes' words, then a number. */
    private static String multiLabelText(int i, int from) {
        StringBuilder text = new StringBuilder();
        for (int j = 0; j < 3; j++) {
            if ((i % 8 >> j & 1) == 1) {
                text.append(WORDS.get(j)).append(' ');
            }
        }
        return text.append(from + i).toString();
    }

    private static List<String> multiLabelTickets(int n, int from) {
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<String> names = new ArrayList<>();
            for (int j = 0; j < 3; j++) {
                if ((i % 8 >> j & 1) == 1) {
                    names.add("\"" + LABELS.get(j) + "\"");
                }
            }
            rows.add("{\"text\": \"" + multiLabelText(i, from) + "\", \"labels\": [" + String.join(", ", names) + "]}");
        }
        return rows;
    }

    @Test
    void anUnknownLabelIsRefusedWithItsLine() throws Exception {
        List<String> rows = new ArrayList<>(tickets(4, 0));
        rows.set(2, "{\"text\": \"where is my parcel\", \"label\": \"shipping\"}");
        Files.write(dir.resolve("train.jsonl"), rows);
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains("train.jsonl line 3: label 'shipping' is not one of the classes [billing, refund, other]"),
                r.err());
    }

    /** scikit-learn's numbers for references [a, a, b, c] and predictions [a, b, b, b], worked by hand. */
    @Test
    void evalOfPredictionLabelsMatchesAHandComputedReport() throws Exception {
        Path file = dir.resolve("preds.jsonl");
        Files.write(file, List.of("{\"prediction\": \"a\", \"reference\": \"a\"}", "{\"prediction\": \"b\", \"reference\": \"a\"}",
                "{\"prediction\": \"b\", \"reference\": \"b\"}", "{\"prediction\": \"b\", \"reference\": \"c\"}"));
        Path report = dir.resolve("p.json");
        CliTestSupport.Run r = CliTestSupport.run("eval", "--classification", "--predictions", file.toString(),
                "-o", report.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        JsonNode m = new ObjectMapper().readTree(report.toFile()).get("metrics");
        assertEquals(0.5, m.get("accuracy").asDouble(), 1e-12);
        // F1: a = 2*1/(2+1), b = 2*1/(1+3), c = 0
        assertEquals((2.0 / 3 + 0.5 + 0) / 3, m.get("f1_macro").asDouble(), 1e-12);
        assertEquals((2.0 / 3 * 2 + 0.5 * 1 + 0) / 4, m.get("f1_weighted").asDouble(), 1e-12);
        assertTrue(r.out().contains("a                           1.0000    0.5000    0.6667         2"), r.out());
    }

    /**
     * Multi-label prediction rows, worked by hand as scikit-learn scores their indicator matrices (classes a, b, c):
     * references {a, c}, {b}, {a, b}, {} and predictions {a}, {b}, {a, c}, {}.
     */
    @Test
    void evalOfMultiLabelPredictionListsMatchesAHandComputedReport() throws Exception {
        Path file = dir.resolve("preds.jsonl");
        Files.write(file, List.of("{\"prediction\": [\"a\"], \"reference\": [\"a\", \"c\"]}",
                "{\"prediction\": [\"b\"], \"reference\": [\"b\"]}",
                "{\"prediction\": [\"c\", \"a\"], \"reference\": [\"a\", \"b\"]}",
                "{\"prediction\": [], \"reference\": []}"));
        Path report = dir.resolve("p.json");
        CliTestSupport.Run r = CliTestSupport.run("eval", "--classification", "--predictions", file.toString(),
                "-o", report.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        JsonNode m = new ObjectMapper().readTree(report.toFile()).get("metrics");
        assertEquals(0.5, m.get("accuracy").asDouble(), 1e-12, "rows 2 and 4 exactly right");
        // a: tp 2, predicted 2, true 2 -> 1; b: tp 1, predicted 1, true 2 -> 2/3; c: tp 0 -> 0
        assertEquals((1 + 2.0 / 3) / 3, m.get("f1_macro").asDouble(), 1e-12);
        // micro: tp 3, predicted 4, true 5 -> 6/9
        assertEquals(2.0 / 3, m.get("f1_micro").asDouble(), 1e-12);
        assertEquals(0.75, m.get("precision_micro").asDouble(), 1e-12);

        Files.write(file, List.of("{\"prediction\": [\"a\"], \"reference\": [\"a\"]}",
                "{\"prediction\": \"a\", \"reference\": \"a\"}"));
        CliTestSupport.Run mixed = CliTestSupport.run("eval", "--classification", "--predictions", file.toString());
        assertEquals(ExitCodes.BAD_INPUT, mixed.exitCode(), mixed.err());
        assertTrue(mixed.err().contains("line 2") && mixed.err().contains("lists of labels"), mixed.err());
    }

    @Test
    void labelsOutsideClassificationAreRefused() throws Exception {
        Path file = dir.resolve("preds.jsonl");
        Files.write(file, List.of("{\"prediction\": \"a\", \"reference\": \"a\"}"));
        CliTestSupport.Run r = CliTestSupport.run("eval", "--predictions", file.toString(), "--labels", "a,b");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains("only --classification --model uses --labels"), r.err());
    }
}
