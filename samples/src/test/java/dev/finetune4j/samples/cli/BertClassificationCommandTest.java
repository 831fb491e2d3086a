package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.core.tokenizer.PairEncoding;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train} and {@code eval --classification} on BERT (core's hf-tiny/bert_cls with its hand-made uncased
 * WordPiece tokenizer, tokenizer/bert-wordpiece): the CLI's rows are {@code [CLS] ... [SEP]}, cut with the
 * {@code [SEP]} kept, as transformers' {@code tokenizer(text, truncation=True, max_length=n)} gives them.
 */
class BertClassificationCommandTest {
    private static final List<String> TEXTS = List.of("my bill is wrong", "refunds please !", "help , the cafe",
            "Billing is WRONG!");
    private static final List<String> CLASSES = List.of("LABEL_0", "LABEL_1", "LABEL_2", "LABEL_0");
    /**
     * The texts' ids cut to 5, worked out by hand from tokenizer/README.md: [CLS] 2, [SEP] 3; "billing" = bill ##ing,
     * lower-cased.
     */
    private static final long[][] CUT_TO_5 = {{2, 8, 9, 11, 3}, {2, 6, 7, 14, 3}, {2, 16, 15, 5, 3}, {2, 9, 10, 11, 3}};

    @TempDir
    Path dir;

    @Test
    void rowsAreClsTextSepAndEvalScoresThem() throws Exception {
        Path model = bertFolder();
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < TEXTS.size(); i++) {
            rows.add("{\"text\": \"" + TEXTS.get(i) + "\", \"label\": \"" + CLASSES.get(i) + "\"}");
        }
        Files.write(dir.resolve("train.jsonl"), rows);
        Path config = dir.resolve("train.yaml");
        Files.writeString(config, """
                model: model
                task: classification
                method: lora
                peft: {r: 4, lora_alpha: 8, target_modules: [query, value]}
                data: {train: train.jsonl, max_length: 16}
                training: {max_steps: 4, micro_batch_size: 2, learning_rate: 1.0e-2, seed: 1}
                output: run
                """);
        CliTestSupport.Run train = CliTestSupport.run("train", "-c", config.toString());
        assertEquals(ExitCodes.OK, train.exitCode(), train.err());
        assertTrue(train.out().contains("classes: [LABEL_0, LABEL_1, LABEL_2]"), train.out());

        Path adapter = dir.resolve("run/adapter");
        Path report = dir.resolve("eval.json");
        CliTestSupport.Run eval = CliTestSupport.run("eval", "--classification", "-m", model.toString(), "--adapter",
                adapter.toString(), "--max-length", "5", "-d", dir.resolve("train.jsonl").toString(), "-o", report.toString());
        assertEquals(ExitCodes.OK, eval.exitCode(), eval.err());
        JsonNode predictions = new ObjectMapper().readTree(report.toFile()).get("predictions");
        try (HfTokenizer tok = HfTokenizer.load(model);
             var base = ClassifierInputs.load(model, Device.cpu(), null, null, tok)) {
            PeftClassifier clf = Peft.load(base, adapter);
            for (int i = 0; i < CUT_TO_5.length; i++) {
                float[] logits = clf.logits(new long[][]{CUT_TO_5[i]}, null)[0];
                int best = 0;
                for (int k = 1; k < logits.length; k++) {
                    best = logits[k] > logits[best] ? k : best;
                }
                assertEquals("LABEL_" + best, predictions.get(i).asText(), "row " + i + ": " + TEXTS.get(i));
            }
        }
    }

    /**
     * Sentence pairs under GLUE's field names (data.text_field / text_pair_field, eval's --text-field /
     * --text-pair-field): rows are [CLS] A [SEP] B [SEP] with types 0 then 1, the longer text cut first, and eval's
     * predictions are the trained classifier's argmax over them.
     */
    @Test
    void sentencePairsTrainAndEvalWithTheirTokenTypes() throws Exception {
        Path model = bertFolder();
        List<String> first = List.of("my bill is wrong", "refunds please !", "help , the cafe", "the bill is wrong");
        List<String> second = List.of("refunds please", "billing", "help", "my refunds , please !");
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < first.size(); i++) {
            rows.add("{\"sentence1\": \"" + first.get(i) + "\", \"sentence2\": \"" + second.get(i) + "\", \"label\": \""
                    + CLASSES.get(i) + "\"}");
        }
        Files.write(dir.resolve("pairs.jsonl"), rows);
        Path config = dir.resolve("pairs.yaml");
        Files.writeString(config, """
                model: model
                task: classification
                method: lora
                peft: {r: 4, lora_alpha: 8, target_modules: [query, value]}
                data: {train: pairs.jsonl, max_length: 16, text_field: sentence1, text_pair_field: sentence2}
                training: {max_steps: 4, micro_batch_size: 2, learning_rate: 1.0e-2, seed: 1}
                output: run
                """);
        CliTestSupport.Run train = CliTestSupport.run("train", "-c", config.toString());
        assertEquals(ExitCodes.OK, train.exitCode(), train.err());
        Path adapter = dir.resolve("run/adapter");
        Path report = dir.resolve("eval.json");
        CliTestSupport.Run eval = CliTestSupport.run("eval", "--classification", "-m", model.toString(), "--adapter",
                adapter.toString(), "--max-length", "8", "--text-field", "sentence1", "--text-pair-field", "sentence2",
                "-d", dir.resolve("pairs.jsonl").toString(), "-o", report.toString());
        assertEquals(ExitCodes.OK, eval.exitCode(), eval.err());
        JsonNode predictions = new ObjectMapper().readTree(report.toFile()).get("predictions");
        try (HfTokenizer tok = HfTokenizer.load(model);
             var base = ClassifierInputs.load(model, Device.cpu(), null, null, tok)) {
            // by hand: "my bill is wrong" (4) and "refund ##s please" (3) in a budget of 8 - 3 = 5: the longer keeps 3
            PairEncoding row0 = tok.encodePairWithSpecialTokens(first.get(0), second.get(0), 8);
            assertArrayEquals(new long[]{2, 8, 9, 11, 3, 6, 7, 3}, row0.inputIds());
            assertArrayEquals(new long[]{0, 0, 0, 0, 0, 1, 1, 1}, row0.tokenTypeIds());
            PeftClassifier clf = Peft.load(base, adapter);
            for (int i = 0; i < first.size(); i++) {
                PairEncoding pair = tok.encodePairWithSpecialTokens(first.get(i), second.get(i), 8);
                float[] logits = clf.logits(new long[][]{pair.inputIds()}, null, new long[][]{pair.tokenTypeIds()})[0];
                int best = 0;
                for (int k = 1; k < logits.length; k++) {
                    best = logits[k] > logits[best] ? k : best;
                }
                assertEquals("LABEL_" + best, predictions.get(i).asText(), "row " + i);
            }
        }
    }

    private Path bertFolder() throws Exception {
        Path model = Files.createDirectories(dir.resolve("model"));
        copy("/hf-tiny/bert_cls/config.json", model);
        copy("/hf-tiny/bert_cls/model.safetensors", model);
        copy("/tokenizer/bert-wordpiece/tokenizer.json", model);
        copy("/tokenizer/bert-wordpiece/tokenizer_config.json", model);
        return model;
    }

    private static void copy(String resource, Path into) throws Exception {
        try (InputStream in = BertClassificationCommandTest.class.getResourceAsStream(resource)) {
            Files.copy(in, into.resolve(resource.substring(resource.lastIndexOf('/') + 1)));
        }
    }
}
