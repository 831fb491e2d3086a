package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.eval.Perplexity;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.qlora.QloraInjector;
import dev.finetune4j.samples.quickstart.BaseModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvalCommandTest {
    @TempDir
    Path dir;

    @Test
    void scoresAPredictionsFile() throws Exception {
        Files.write(dir.resolve("preds.jsonl"), List.of(
                "{\"prediction\": \"the cat sat on the mat\", \"reference\": \"the cat sat on the mat\"}",
                "{\"prediction\": \"金卡年费为200元\", \"reference\": \"金卡年费为200元。\"}"));
        Path out = dir.resolve("metrics.json");
        CliTestSupport.Run r = CliTestSupport.run("eval", "--predictions", dir.resolve("preds.jsonl").toString(),
                "--bleu-tokenize", "zh", "--cjk", "--output", out.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        JsonNode m = new ObjectMapper().readTree(out.toFile()).get("metrics");
        assertTrue(m.get("bleu").asDouble() > 80, m.toString());
        assertTrue(m.get("rougeL").asDouble() > 90, m.toString());
        assertTrue(r.out().contains("chrf++"), r.out());
    }

    @Test
    void scoresAModelsAnswers() throws Exception {
        Path model = CliTestSupport.tinyModel(dir.resolve("model"));
        Files.write(dir.resolve("test.jsonl"), List.of("{\"instruction\": \"hi?\", \"output\": \"hello\"}"));
        CliTestSupport.Run r = CliTestSupport.run("eval", "--model", model.toString(), "--tokenizer", "byte-level",
                "--data", dir.resolve("test.jsonl").toString(), "--prompt-template", "Q: {prompt}\nA: ",
                "--max-new-tokens", "4");
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("perplexity") && r.out().contains("bleu"), r.out());
        assertTrue(r.err().contains("answered 1 of 1 prompts in 0:0"), r.err());
    }

    /** bf16-mixed scores the same answers in bf16: a perplexity near, not equal to, float32's (auto on the CPU). */
    @Test
    void precisionBf16MixedComputesInBf16AndAnUnknownOneIsBadInput() throws Exception {
        Path model = CliTestSupport.tinyModel(dir.resolve("model"));
        Files.write(dir.resolve("test.jsonl"), List.of("{\"instruction\": \"hi?\", \"output\": \"hello there\"}"));
        double[] perplexity = new double[2];
        String[] precisions = {"auto", "bf16-mixed"};
        for (int i = 0; i < 2; i++) {
            Path out = dir.resolve(precisions[i] + ".json");
            CliTestSupport.Run r = CliTestSupport.run("eval", "--model", model.toString(), "--tokenizer", "byte-level",
                    "--data", dir.resolve("test.jsonl").toString(), "--max-new-tokens", "2", "--device", "cpu",
                    "--precision", precisions[i], "--output", out.toString());
            assertEquals(ExitCodes.OK, r.exitCode(), r.err());
            perplexity[i] = new ObjectMapper().readTree(out.toFile()).at("/metrics/perplexity").asDouble();
        }
        assertNotEquals(perplexity[0], perplexity[1], "bf16-mixed computed what f32 computes");
        assertEquals(perplexity[0], perplexity[1], 0.05 * perplexity[0]);
        CliTestSupport.Run bad = CliTestSupport.run("eval", "--model", model.toString(), "--data", "test.jsonl",
                "--precision", "fp8");
        assertEquals(ExitCodes.BAD_INPUT, bad.exitCode());
        assertTrue(bad.err().contains("--precision") && bad.err().contains("'fp8' is not one of f32, bf16-mixed, auto"),
                bad.err());
    }

    /** Prompts answered together (of different lengths, left-padded) get the answers each gets alone. */
    @Test
    void batchedAnswersEqualOneAtATime() throws Exception {
        Path model = CliTestSupport.tinyModel(dir.resolve("model"));
        Files.write(dir.resolve("test.jsonl"), List.of("{\"instruction\": \"hi?\", \"output\": \"hello\"}",
                "{\"instruction\": \"what is the annual fee of the gold card?\", \"output\": \"200 yuan\"}",
                "{\"instruction\": \"and the silver one?\", \"output\": \"100 yuan\"}",
                "{\"instruction\": \"x\", \"output\": \"y\"}", "{\"instruction\": \"bye\", \"output\": \"bye\"}"));
        List<JsonNode> predictions = new ArrayList<>();
        for (String batch : new String[]{"1", "2", "8"}) {
            Path out = dir.resolve("batch-" + batch + ".json");
            CliTestSupport.Run r = CliTestSupport.run("eval", "--model", model.toString(), "--tokenizer", "byte-level",
                    "--data", dir.resolve("test.jsonl").toString(), "--max-new-tokens", "6", "--batch-size", batch,
                    "--output", out.toString());
            assertEquals(ExitCodes.OK, r.exitCode(), r.err());
            predictions.add(new ObjectMapper().readTree(out.toFile()).get("predictions"));
        }
        assertEquals(5, predictions.getFirst().size());
        assertEquals(predictions.getFirst(), predictions.get(1));
        assertEquals(predictions.getFirst(), predictions.get(2));
        CliTestSupport.Run bad = CliTestSupport.run("eval", "--model", model.toString(), "--data", "test.jsonl",
                "--batch-size", "0");
        assertEquals(ExitCodes.BAD_INPUT, bad.exitCode());
        assertTrue(bad.err().contains("--batch-size must be at least 1"), bad.err());
    }

    @Test
    void missingFieldIsBadInputNamingTheFields() throws Exception {
        Files.write(dir.resolve("preds.jsonl"), List.of("{\"hyp\": \"a\", \"reference\": \"a\"}"));
        CliTestSupport.Run r = CliTestSupport.run("eval", "-p", dir.resolve("preds.jsonl").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("'prediction'") && r.err().contains("hyp"), r.err());
    }

    @Test
    void deviceCpuGeneratesThereAndAnUnusableOrUnknownDeviceIsBadInputBeforeAnyFileIsRead() throws Exception {
        Path model = CliTestSupport.tinyModel(dir.resolve("model"));
        Files.write(dir.resolve("test.jsonl"), List.of("{\"instruction\": \"hi?\", \"output\": \"hello\"}"));
        CliTestSupport.Run r = CliTestSupport.run("eval", "--model", model.toString(), "--tokenizer", "byte-level",
                "--data", dir.resolve("test.jsonl").toString(), "--max-new-tokens", "2", "--device", "cpu");
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        // this machine has no GPU: the CUDA backend says why it cannot start (no file is looked at first)
        r = CliTestSupport.run("eval", "--model", "no-such-folder", "--data", "no.jsonl", "--device", "cuda:0");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("--device") && r.err().contains("cuda:0 cannot be used")
                && r.err().contains("use --device cpu, cuda:N or auto"), r.err());
        r = CliTestSupport.run("eval", "--model", "no-such-folder", "--data", "no.jsonl", "--device", "tpu:0");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("no backend for device tpu:0"), r.err());
        r = CliTestSupport.run("eval", "--model", "no-such-folder", "--data", "no.jsonl", "--device");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("--device"), r.err());
    }

    /** Options that cannot work are bad input before the model answers (which takes hours on a real model). */
    @Test
    void badOptionsAreBadInputBeforeTheModelAnswersAndTheOutputFolderIsMade() throws Exception {
        Path model = CliTestSupport.tinyModel(dir.resolve("model"));
        Files.write(dir.resolve("test.jsonl"), List.of("{\"instruction\": \"hi?\", \"output\": \"hello\"}"));
        Files.writeString(dir.resolve("a-file"), "x");
        String[][] bad = {{"--bleu-tokenize", "14a"}, {"--max-new-tokens", "-3"}, {"--output", dir.toString()},
                {"--output", dir.resolve("a-file/metrics.json").toString()}};
        String[] named = {"unknown tokenizer '14a'", "--max-new-tokens must be 0 or more", "is a folder", "a-file"};
        for (int i = 0; i < bad.length; i++) {
            CliTestSupport.Run r = CliTestSupport.run("eval", "--model", model.toString(), "--tokenizer", "byte-level",
                    "--data", dir.resolve("test.jsonl").toString(), "--prompt-template", "Q: {prompt}\nA: ", bad[i][0], bad[i][1]);
            assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
            assertTrue(r.err().contains(named[i]) && !r.err().contains("answered"), r.err());
        }
        Path out = dir.resolve("new/folder/metrics.json");
        CliTestSupport.Run r = CliTestSupport.run("eval", "--model", model.toString(), "--tokenizer", "byte-level",
                "--data", dir.resolve("test.jsonl").toString(), "--max-new-tokens", "2", "--output", out.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(new ObjectMapper().readTree(out.toFile()).has("metrics"));
    }

    /** --model at a file, an empty folder or nothing is named as a wrong model folder, not as a missing tokenizer. */
    @Test
    void aModelPathThatIsNoModelFolderIsNamedAsSuchBeforeTheTokenizerIsLookedFor() throws Exception {
        Files.writeString(dir.resolve("test.jsonl"), "{\"instruction\": \"hi?\", \"output\": \"hello\"}\n");
        Files.createDirectories(dir.resolve("empty"));
        String[] models = {"test.jsonl", "empty", "missing"};
        String[] found = {"is a file, not a folder", "has no config.json", "does not exist"};
        for (int i = 0; i < models.length; i++) {
            CliTestSupport.Run r = CliTestSupport.run("eval", "--model", dir.resolve(models[i]).toString(),
                    "--data", dir.resolve("test.jsonl").toString());
            assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
            assertTrue(r.err().contains("model folder " + dir.resolve(models[i]) + " " + found[i]), r.err());
            assertFalse(r.err().contains("tokenizer.json"), r.err());
        }
    }

    /**
     * A predictions file's missing field was answered with advice for --data (--reference-field), and a bad --data
     * row or an empty --data file was reported only after the model had loaded.
     */
    @Test
    void badRowsAreNamedWithTheirLineAndAdviceForTheirFileBeforeTheModelLoads() throws Exception {
        Files.write(dir.resolve("preds.jsonl"), List.of("{\"prediction\": \"a\", \"reference\": \"a\"}",
                "{\"prediction\": \"b\", \"ref\": \"b\"}"));
        CliTestSupport.Run preds = CliTestSupport.run("eval", "-p", dir.resolve("preds.jsonl").toString());
        assertEquals(ExitCodes.BAD_INPUT, preds.exitCode());
        assertTrue(preds.err().contains("preds.jsonl line 2: no string field 'reference'")
                && preds.err().contains("a --predictions file needs 'prediction' and 'reference'")
                && !preds.err().contains("--reference-field"), preds.err());
        Files.write(dir.resolve("empty.jsonl"), List.of());
        // no model folder: the data is read before the model would be looked for
        CliTestSupport.Run empty = CliTestSupport.run("eval", "-m", dir.resolve("no-model").toString(),
                "-d", dir.resolve("empty.jsonl").toString());
        assertEquals(ExitCodes.BAD_INPUT, empty.exitCode());
        assertTrue(empty.err().contains("empty.jsonl holds no records"), empty.err());
        CliTestSupport.Run data = CliTestSupport.run("eval", "-m", dir.resolve("no-model").toString(),
                "-d", dir.resolve("preds.jsonl").toString(), "--prompt-field", "prediction", "--reference-field", "reference");
        assertEquals(ExitCodes.BAD_INPUT, data.exitCode());
        assertTrue(data.err().contains("preds.jsonl line 2: no string field 'reference'")
                && data.err().contains("--reference-field"), data.err());
    }

    /** A QLoRA adapter was evaluated on the full-precision base, not the NF4 one it was trained on (a log warning only). */
    @Test
    void aQloraAdapterIsEvaluatedOnTheQuantizedBaseItWasTrainedOn() throws Exception {
        Path model = CliTestSupport.tinyModel(dir.resolve("model"));
        Files.write(dir.resolve("test.jsonl"), List.of("{\"instruction\": \"hi?\", \"output\": \"hello there\"}"));
        ByteLevelTokenizer tok = new ByteLevelTokenizer();
        long[] prompt = tok.encode("Q: hi?\nA: ");
        long[] reference = tok.encode("hello there");
        long[] doc = Arrays.copyOf(prompt, prompt.length + reference.length);
        System.arraycopy(reference, 0, doc, prompt.length, reference.length);
        double quantized;
        try (LanguageModel base = AutoModel.loadCausalLM(model)) {
            QloraInjector.quantize(base);
            try (PeftModel qlora = Peft.wrap(base, LoraConfig.builder().r(4).targetModules("q_proj", "v_proj")
                    .initLoraWeights(LoraInit.RANDOM).build(), 5)) {
                qlora.save(dir.resolve("adapter"));
                quantized = Perplexity.builder().build().compute(qlora, List.of(doc)).perplexity();
            }
        }
        double fullPrecision;
        try (PeftModel onFullPrecision = Peft.load(AutoModel.loadCausalLM(model), dir.resolve("adapter"))) {
            fullPrecision = Perplexity.builder().build().compute(onFullPrecision, List.of(doc)).perplexity();
        }
        Path out = dir.resolve("metrics.json");
        CliTestSupport.Run r = CliTestSupport.run("eval", "--model", model.toString(), "--tokenizer", "byte-level",
                "--adapter", dir.resolve("adapter").toString(), "--data", dir.resolve("test.jsonl").toString(),
                "--prompt-template", "Q: {prompt}\nA: ", "--max-new-tokens", "2", "--device", "cpu", "--output", out.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        double reported = new ObjectMapper().readTree(out.toFile()).at("/metrics/perplexity").asDouble();
        assertNotEquals(quantized, fullPrecision, "the quantization must show in the perplexity");
        assertEquals(quantized, reported, 1e-9 * quantized);
    }

    /** A prompt that fills the model's positions failed part way through answering, naming only its index in the batch. */
    @Test
    void aPromptThatFillsTheModelsPositionsIsBadInputNamingItsLineBeforeAnswering() throws Exception {
        Path model = CliTestSupport.tinyModel(dir.resolve("model"));
        Files.write(dir.resolve("test.jsonl"), List.of("{\"instruction\": \"hi?\", \"output\": \"hello\"}",
                "{\"instruction\": \"" + "x".repeat(BaseModelConfig.MAX_POSITIONS) + "\", \"output\": \"y\"}"));
        CliTestSupport.Run r = CliTestSupport.run("eval", "--model", model.toString(), "--tokenizer", "byte-level",
                "--data", dir.resolve("test.jsonl").toString(), "--prompt-template", "Q: {prompt}\nA: ");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        // one byte a token: the instruction and the template's "Q: " and "\nA: " (7 bytes)
        assertTrue(r.err().contains(dir.resolve("test.jsonl") + " line 2: the prompt has " + (BaseModelConfig.MAX_POSITIONS + 7)
                + " tokens, but the model takes at most " + BaseModelConfig.MAX_POSITIONS + " positions")
                && !r.err().contains("answered"), r.err());
    }

    @Test
    void predictionsAndModelTogetherAreAUsageError() {
        CliTestSupport.Run r = CliTestSupport.run("eval", "-p", "a.jsonl", "-m", "model");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("mutually exclusive"), r.err());
    }
}
