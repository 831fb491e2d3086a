package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.gguf.GgufExporter;
import dev.finetune4j.gguf.GgufProgress;
import dev.finetune4j.gguf.GgufType;
import dev.finetune4j.gguf.ImportanceMatrix;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.samples.quickstart.BaseModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExportGgufCommandTest {
    @TempDir
    Path dir;

    /**
     * The CLI's file is byte for byte what the library writes for the model with the adapter merged (the library's
     * files are checked against llama.cpp in the gguf module), and differs from the base model's; with --lora-only,
     * it is the library's adapter GGUF of the adapter.
     */
    @Test
    void theExportWithAnAdapterIsTheMergedModelsGguf() throws Exception {
        Path base = baseWithTokenizer();
        Path expected = dir.resolve("expected.gguf");
        Path baseOnly = dir.resolve("base.gguf");
        try (PeftModel m = Peft.wrap(AutoModel.loadCausalLM(base), LoraConfig.builder().r(4).loraAlpha(8)
                .targetModules("q_proj", "v_proj").initLoraWeights(LoraInit.RANDOM).build(), 5);
             HfTokenizer tokenizer = HfTokenizer.load(base)) {
            m.save(dir.resolve("adapter"));
            Files.createDirectories(dir.resolve("expected"));
            GgufExporter.exportLora(m, dir.resolve("expected/qa-lora.gguf"), GgufType.F16); // its name: the file's
            try (LanguageModel merged = m.mergeAndUnload()) {
                GgufExporter.export(merged, tokenizer, expected, GgufType.Q8_0);
            }
        }
        try (LanguageModel plain = AutoModel.loadCausalLM(base); HfTokenizer tokenizer = HfTokenizer.load(base)) {
            GgufExporter.export(plain, tokenizer, baseOnly, GgufType.Q8_0);
        }

        CliTestSupport.Run r = CliTestSupport.run("export-gguf", "--model", base.toString(), "--adapter",
                dir.resolve("adapter").toString(), "--out", dir.resolve("qa.gguf").toString(), "--type", "q8_0");
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("(q8_0) written to") && r.out().contains("qa.gguf"), r.out());
        assertTrue(r.err().lines().anyMatch(l -> l.matches("wrote (\\d+\\.\\d\\d) of \\1 GiB of tensors in \\d+:\\d\\d")),
                "the last progress line reports all of the tensors: " + r.err());
        byte[] written = Files.readAllBytes(dir.resolve("qa.gguf"));
        assertArrayEquals(Files.readAllBytes(expected), written, "the merged model's GGUF");
        assertFalse(Arrays.equals(Files.readAllBytes(baseOnly), written), "the adapter must change the weights");
        String text = new String(written, StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("tokenizer.chat_template") && text.contains("<tool_call>"), "the model's chat template");

        r = CliTestSupport.run("export-gguf", "--model", base.toString(), "--adapter", dir.resolve("adapter").toString(),
                "--lora-only", "--out", dir.resolve("qa-lora.gguf").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("LoRA adapter (f16) written to"), r.out());
        assertArrayEquals(Files.readAllBytes(dir.resolve("expected/qa-lora.gguf")), Files.readAllBytes(dir.resolve("qa-lora.gguf")),
                "the adapter GGUF of the adapter as trained");
    }

    /**
     * A RoBERTa classifier folder with a LoRA adapter exports as the library writes the merged classifier (checked
     * against llama.cpp in the gguf module), not as the base; the causal LMs' options are refused for it.
     */
    @Test
    void aClassifierFolderExportsTheMergedClassifier() throws Exception {
        Path model = ReferenceFolders.copy("references/roberta_cls", List.of("config.json", "model.safetensors"),
                dir.resolve("model"));
        ReferenceFolders.copy("tokenizer/roberta-bytebpe", List.of("tokenizer.json"), model);
        Files.createDirectories(dir.resolve("expected"));
        Files.createDirectories(dir.resolve("base"));
        try (SequenceClassifierModule base = AutoModel.loadSequenceClassifier(model);
             HfTokenizer tokenizer = HfTokenizer.load(model)) {
            GgufExporter.export((EncoderClassifier) base, tokenizer, dir.resolve("base/cls.gguf"), GgufType.F16,
                    GgufProgress.NONE);
            PeftClassifier adapted = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8)
                    .targetModules("query", "value").initLoraWeights(LoraInit.RANDOM).build());
            adapted.save(dir.resolve("adapter"));
            GgufExporter.export((EncoderClassifier) adapted.mergeAndUnload(), tokenizer, dir.resolve("expected/cls.gguf"),
                    GgufType.F16, GgufProgress.NONE);
        }
        CliTestSupport.Run r = CliTestSupport.run("export-gguf", "-m", model.toString(), "--adapter",
                dir.resolve("adapter").toString(), "-o", dir.resolve("cls.gguf").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("GGUF classifier (f16, labels [billing, refund, other]) written to"), r.out());
        byte[] written = Files.readAllBytes(dir.resolve("cls.gguf"));
        assertArrayEquals(Files.readAllBytes(dir.resolve("expected/cls.gguf")), written, "the merged classifier's GGUF");
        assertFalse(Arrays.equals(Files.readAllBytes(dir.resolve("base/cls.gguf")), written),
                "the adapter must change the weights");

        r = CliTestSupport.run("export-gguf", "-m", model.toString(), "--type", "q4_k_m", "--calibration",
                model.resolve("config.json").toString(), "-o", dir.resolve("q.gguf").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("are for causal LMs") && r.err().contains("holds a classifier"), r.err());
    }

    @Test
    void loraOnlyNeedsAnAdapter() throws Exception {
        Path base = baseWithTokenizer();
        CliTestSupport.Run r = CliTestSupport.run("export-gguf", "-m", base.toString(), "--lora-only", "-o",
                dir.resolve("m.gguf").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("--adapter"), r.err());
    }

    /**
     * {@code --type q4_k_m} writes the library's K-quant mix, {@code --type iq4_xs} its IQ4_XS mix (both checked tensor
     * for tensor against llama.cpp's llama-quantize in the gguf module), with {@code --calibration} under the
     * importance matrix of the text; an adapter GGUF cannot be one, and says what to do instead.
     */
    @Test
    void aKQuantMixIsWrittenForWholeModelsOnly() throws Exception {
        Path base = baseWithTokenizer();
        Path expected = dir.resolve("expected.gguf");
        try (LanguageModel plain = AutoModel.loadCausalLM(base); HfTokenizer tokenizer = HfTokenizer.load(base)) {
            GgufExporter.export(plain, tokenizer, expected, GgufType.Q4_K_M);
        }
        CliTestSupport.Run r = CliTestSupport.run("export-gguf", "-m", base.toString(), "-o",
                dir.resolve("m.gguf").toString(), "--type", "Q4_K_M");
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("(q4_k_m) written to"), r.out());
        assertArrayEquals(Files.readAllBytes(expected), Files.readAllBytes(dir.resolve("m.gguf")));
        Path expectedIq4 = dir.resolve("expected-iq4.gguf");
        try (LanguageModel plain = AutoModel.loadCausalLM(base); HfTokenizer tokenizer = HfTokenizer.load(base)) {
            GgufExporter.export(plain, tokenizer, expectedIq4, GgufType.IQ4_XS);
        }
        r = CliTestSupport.run("export-gguf", "-m", base.toString(), "-o", dir.resolve("iq4.gguf").toString(), "--type",
                "iq4_xs");
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("(iq4_xs) written to"), r.out());
        assertArrayEquals(Files.readAllBytes(expectedIq4), Files.readAllBytes(dir.resolve("iq4.gguf")));

        // with --calibration: the library's export under the importance matrix of the text's 8-token chunks
        String text = "Refunds are paid within 14 days. Invoices list the VAT number. Orders ship on weekdays.";
        Files.writeString(dir.resolve("calibration.txt"), text);
        Path calibrated = dir.resolve("expected-imatrix.gguf");
        try (LanguageModel plain = AutoModel.loadCausalLM(base); HfTokenizer tokenizer = HfTokenizer.load(base)) {
            long[] ids = tokenizer.encode(text);
            List<long[]> chunks = new ArrayList<>();
            for (int at = 0; at < ids.length; at += 8) {
                chunks.add(Arrays.copyOfRange(ids, at, Math.min(ids.length, at + 8)));
            }
            ImportanceMatrix imatrix = ImportanceMatrix.collect(plain, chunks);
            GgufExporter.export(plain, tokenizer, calibrated, GgufType.Q4_K_M, imatrix, GgufProgress.NONE);
            imatrix.save(dir.resolve("expected-imatrix-file.gguf"), "calibration.txt");
        }
        r = CliTestSupport.run("export-gguf", "-m", base.toString(), "-o", dir.resolve("mi.gguf").toString(),
                "--type", "q4_k_m", "--calibration", dir.resolve("calibration.txt").toString(),
                "--calibration-tokens", "8", "--save-imatrix", dir.resolve("imatrix.gguf").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("importance matrix over"), r.out());
        assertArrayEquals(Files.readAllBytes(dir.resolve("expected-imatrix-file.gguf")),
                Files.readAllBytes(dir.resolve("imatrix.gguf")), "the library's imatrix file (llama.cpp reads it back "
                        + "in the gguf module)");
        assertTrue(r.err().lines().anyMatch(l -> l.matches("importance matrix: ran (\\d+) of \\1 calibration chunks.*")),
                r.err());
        assertArrayEquals(Files.readAllBytes(calibrated), Files.readAllBytes(dir.resolve("mi.gguf")));
        assertFalse(Arrays.equals(Files.readAllBytes(expected), Files.readAllBytes(calibrated)),
                "the importance matrix changes the blocks");
        // --imatrix: the saved matrix gives the same file as collecting it again
        r = CliTestSupport.run("export-gguf", "-m", base.toString(), "-o", dir.resolve("mi2.gguf").toString(),
                "--type", "q4_k_m", "--imatrix", dir.resolve("imatrix.gguf").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertArrayEquals(Files.readAllBytes(calibrated), Files.readAllBytes(dir.resolve("mi2.gguf")));
        r = CliTestSupport.run("export-gguf", "-m", base.toString(), "-o", dir.resolve("mi3.gguf").toString(),
                "--type", "q4_k_m", "--imatrix", dir.resolve("calibration.txt").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("is not an importance matrix file"), r.err());

        // a .jsonl file: its SFT rows, each laid out as `finetune4j train` lays it out, one sequence each
        Files.writeString(dir.resolve("train.jsonl"), """
                {"instruction": "When are refunds paid?", "output": "Within 14 days of the claim."}
                {"instruction": "What do invoices list?", "output": "The VAT number."}
                """);
        Path fromRows = dir.resolve("expected-rows.gguf");
        try (LanguageModel plain = AutoModel.loadCausalLM(base); HfTokenizer tokenizer = HfTokenizer.load(base)) {
            List<long[]> rows = new TrainData(tokenizer, ModelInputs.CHAT, 512, new java.io.PrintWriter(
                    java.io.Writer.nullWriter())).sft(dir.resolve("train.jsonl"), null, null).examples().stream()
                    .map(e -> e.inputIds()).toList();
            assertEquals(2, rows.size());
            GgufExporter.export(plain, tokenizer, fromRows, GgufType.Q4_K_M, ImportanceMatrix.collect(plain, rows),
                    GgufProgress.NONE);
        }
        r = CliTestSupport.run("export-gguf", "-m", base.toString(), "-o", dir.resolve("mr.gguf").toString(),
                "--type", "q4_k_m", "--calibration", dir.resolve("train.jsonl").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.err().contains("ran 2 of 2 calibration chunks"), r.err());
        assertArrayEquals(Files.readAllBytes(fromRows), Files.readAllBytes(dir.resolve("mr.gguf")));

        r = CliTestSupport.run("export-gguf", "-m", base.toString(), "-o", dir.resolve("m8.gguf").toString(),
                "--type", "q8_0", "--calibration", dir.resolve("calibration.txt").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("K-quant and I-quant types only"), r.err());

        try (PeftModel m = Peft.wrap(AutoModel.loadCausalLM(base), LoraConfig.builder().r(4).loraAlpha(8)
                .targetModules("q_proj").initLoraWeights(LoraInit.RANDOM).build(), 5)) {
            m.save(dir.resolve("adapter"));
        }
        r = CliTestSupport.run("export-gguf", "-m", base.toString(), "--adapter", dir.resolve("adapter").toString(),
                "--lora-only", "-o", dir.resolve("a.gguf").toString(), "--type", "q4_k_m");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("export the adapter as f16 or q8_0"), r.err());
        r = CliTestSupport.run("export-gguf", "-m", base.toString(), "--adapter", dir.resolve("adapter").toString(),
                "--lora-only", "-o", dir.resolve("a.gguf").toString(), "--imatrix", dir.resolve("imatrix.gguf").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), "an importance matrix is not silently ignored");
        assertTrue(r.err().contains("an adapter GGUF takes no importance matrix"), r.err());
        assertFalse(Files.exists(dir.resolve("a.gguf")));
    }

    @Test
    void anUnknownTypeOrAMissingOutputFolderIsBadInput() throws Exception {
        Path base = baseWithTokenizer();
        CliTestSupport.Run r = CliTestSupport.run("export-gguf", "-m", base.toString(), "-o",
                dir.resolve("m.gguf").toString(), "--type", "q4_k");
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("f32, f16, bf16, q8_0, q3_k_s, q3_k_m, q3_k_l, q4_k_m, q5_k_m, q6_k, iq3_s, "
                + "iq4_nl or iq4_xs"), r.err());

        r = CliTestSupport.run("export-gguf", "-m", base.toString(), "-o", dir.resolve("missing/m.gguf").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("does not exist"), r.err());
        assertFalse(Files.exists(dir.resolve("m.gguf")));
    }

    /** A tiny Llama of core's byte-level BPE test tokenizer (270 tokens), with Qwen2.5's chat template. */
    private Path baseWithTokenizer() throws Exception {
        ObjectNode config = BaseModelConfig.configJson().put("vocab_size", 270);
        Path base = CliTestSupport.tinyModel(dir.resolve("base"), config);
        return CliTestSupport.qwenToolTokenizer(base);
    }
}
