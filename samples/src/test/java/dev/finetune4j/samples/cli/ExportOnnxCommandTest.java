package dev.finetune4j.samples.cli;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.onnx.OnnxExportOptions;
import dev.finetune4j.onnx.OnnxExporter;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExportOnnxCommandTest {
    @TempDir
    Path dir;

    @Test
    void theExportWithAMergedAdapterComputesWhatTheAdapterModelComputes() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        long[][] ids = {{81, 58, 32, 104, 105, 63, 10, 65, 58, 32}};
        float[][][] expected;
        float[][][] baseLogits;
        ModelSpec spec;
        try (PeftModel m = Peft.wrap(AutoModel.loadCausalLM(base), LoraConfig.builder().r(4).loraAlpha(8)
                .targetModules("q_proj", "v_proj").initLoraWeights(LoraInit.RANDOM).build(), 5)) {
            m.save(dir.resolve("adapter"));
            expected = m.logits(ids, null);
            spec = m.spec();
            try (var disabled = m.disableAdapter()) {
                baseLogits = m.logits(ids, null);
            }
        }
        CliTestSupport.Run r = CliTestSupport.run("export-onnx", "--model", base.toString(), "--adapter",
                dir.resolve("adapter").toString(), "--out", dir.resolve("onnx").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("model.onnx"), r.out());

        float[][][] actual = runInOnnxRuntime(dir.resolve("onnx/model.onnx"), ids, spec);
        assertTrue(Math.abs(baseLogits[0][3][7] - expected[0][3][7]) > 1e-5, "the adapter must change the output");
        double worst = CliTestSupport.largestDifference(actual, expected);
        assertTrue(worst < 1e-4, "largest logit difference " + worst);
    }

    /** prepare, train, eval and merge name their output --output; export-onnx refused it as an unknown option. */
    @Test
    void theOutputFolderIsAlsoTakenAsOutputLikeTheOtherCommands() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        CliTestSupport.Run r = CliTestSupport.run("export-onnx", "--model", base.toString(), "--output", dir.resolve("onnx").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(Files.exists(dir.resolve("onnx/model.onnx")));
    }

    /** --weights and --block-size reach the exporter: the files are those of the library's export with those options. */
    @Test
    void quantizedWeightsExportAsTheLibraryWritesThem() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        CliTestSupport.Run r = CliTestSupport.run("export-onnx", "-m", base.toString(), "--weights", "int4",
                "--block-size", "16", "-o", dir.resolve("onnx").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        try (LanguageModel model = AutoModel.loadCausalLM(base)) {
            OnnxExporter.export(model, dir.resolve("library"), OnnxExportOptions.int4(16));
        }
        for (String file : List.of(OnnxExporter.MODEL_FILE, OnnxExporter.DATA_FILE)) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("library").resolve(file)),
                    Files.readAllBytes(dir.resolve("onnx").resolve(file)), file);
        }
    }

    @Test
    void badWeightOptionsAreBadInput() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        CliTestSupport.Run r = CliTestSupport.run("export-onnx", "-m", base.toString(), "--weights", "int4",
                "--block-size", "24", "-o", dir.resolve("onnx").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains("block size 24 for int4 weights is not a power of two of at least 16"), r.err());
        r = CliTestSupport.run("export-onnx", "-m", base.toString(), "--weights", "nf4", "-o", dir.resolve("onnx").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains("weight format 'nf4' is not one of float32, int8, int4"), r.err());
        r = CliTestSupport.run("export-onnx", "-m", base.toString(), "--block-size", "128", "-o",
                dir.resolve("onnx").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains("--block-size 128 applies to quantized weights"), r.err());
        Path classifier = ReferenceFolders.copy("references/roberta_cls", List.of("config.json", "model.safetensors"),
                dir.resolve("classifier"));
        r = CliTestSupport.run("export-onnx", "-m", classifier.toString(), "--weights", "int8", "-o",
                dir.resolve("onnx").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains("--weights int8 is for causal LMs"), r.err());
        assertTrue(Files.notExists(dir.resolve("onnx")), "nothing written");
    }

    @Test
    void aNonEmptyOutputFolderIsBadInputWithoutOverwrite() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        Files.createDirectories(dir.resolve("onnx"));
        Files.writeString(dir.resolve("onnx/keep.txt"), "mine");
        CliTestSupport.Run r = CliTestSupport.run("export-onnx", "-m", base.toString(), "-o", dir.resolve("onnx").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("--overwrite"), r.err());
        assertEquals("mine", Files.readString(dir.resolve("onnx/keep.txt")));

        r = CliTestSupport.run("export-onnx", "-m", base.toString(), "-o", dir.resolve("onnx").toString(), "--overwrite");
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(Files.exists(dir.resolve("onnx/model.onnx.data")) && !Files.exists(dir.resolve("onnx/keep.txt")));
    }

    @Test
    void overwriteNeverReplacesTheModelsOwnFolder() throws Exception {
        Path base = CliTestSupport.tinyModel(dir.resolve("base"));
        List<String> before = entries(base);
        for (Path out : List.of(base, dir)) {
            CliTestSupport.Run r = CliTestSupport.run("export-onnx", "-m", base.toString(), "-o", out.toString(), "--overwrite");
            assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
            assertTrue(r.err().contains("the model's folder"), r.err());
        }
        assertEquals(before, entries(base));
    }

    /**
     * A RoBERTa classifier folder (core's references/roberta_cls with a tokenizer) and a LoRA adapter: the export
     * computes the adapted classifier's logits, and its folder holds config.json with the labels and the tokenizer.
     */
    @Test
    void aClassifierFolderExportsWithItsMergedAdapterLabelsAndTokenizer() throws Exception {
        Path model = ReferenceFolders.copy("references/roberta_cls", List.of("config.json", "model.safetensors"),
                dir.resolve("model"));
        ReferenceFolders.copy("tokenizer/bytebpe", List.of("tokenizer.json", "tokenizer_config.json"), model);
        long[][] ids = {{0, 17, 45, 9, 100, 2, 1, 1}, {0, 88, 5, 6, 7, 8, 9, 2}};
        long[][] mask = {{1, 1, 1, 1, 1, 1, 0, 0}, {1, 1, 1, 1, 1, 1, 1, 1}};
        float[][] expected;
        float[][] baseLogits;
        try (SequenceClassifierModule base = AutoModel.loadSequenceClassifier(model)) {
            baseLogits = base.logits(ids, mask);
            PeftClassifier adapted = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8)
                    .targetModules("query", "value").initLoraWeights(LoraInit.RANDOM).build());
            expected = adapted.logits(ids, mask);
            adapted.save(dir.resolve("adapter"));
        }
        Path out = dir.resolve("onnx");
        CliTestSupport.Run r = CliTestSupport.run("export-onnx", "-m", model.toString(), "--adapter",
                dir.resolve("adapter").toString(), "-o", out.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("labels [billing, refund, other]"), r.out());

        float[][] actual;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(out.resolve("model.onnx").toString());
             OnnxTensor inputIds = OnnxTensor.createTensor(env, ids);
             OnnxTensor attentionMask = OnnxTensor.createTensor(env, mask);
             OrtSession.Result result = session.run(Map.of("input_ids", inputIds, "attention_mask", attentionMask))) {
            actual = (float[][]) result.get("logits").orElseThrow().getValue();
        }
        assertTrue(CliTestSupport.largestDifference(new float[][][]{baseLogits}, new float[][][]{expected}) > 1e-2,
                "the adapter must change the logits");
        double worst = CliTestSupport.largestDifference(new float[][][]{actual}, new float[][][]{expected});
        assertTrue(worst < 1e-4, "largest logit difference " + worst);
        JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("refund", config.path("id2label").path("1").asText());
        assertEquals(Files.readString(model.resolve("tokenizer.json")), Files.readString(out.resolve("tokenizer.json")));
    }

    @Test
    void labelsGoIntoTheClassifiersConfigAndAreRefusedForACausalLM() throws Exception {
        Path model = ReferenceFolders.copy("references/distilbert_cls", List.of("config.json", "model.safetensors"),
                dir.resolve("model"));
        CliTestSupport.Run r = CliTestSupport.run("export-onnx", "-m", model.toString(), "--labels", "spam,ham",
                "-o", dir.resolve("onnx").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("no tokenizer.json in"), r.out());
        JsonNode config = new ObjectMapper().readTree(dir.resolve("onnx/config.json").toFile());
        assertEquals(List.of("spam", "ham"), List.of(config.path("id2label").path("0").asText(),
                config.path("id2label").path("1").asText()));

        Path lm = CliTestSupport.tinyModel(dir.resolve("lm"));
        r = CliTestSupport.run("export-onnx", "-m", lm.toString(), "--labels", "spam,ham", "-o", dir.resolve("lm-onnx").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("--labels and --problem-type are for classifier folders"), r.err());
    }

    private static List<String> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** One ONNX Runtime call of the exported model without a past; logits [1][seq][vocab]. */
    private static float[][][] runInOnnxRuntime(Path model, long[][] ids, ModelSpec spec) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> inputs = new HashMap<>();
        long[][] positions = new long[1][ids[0].length];
        long[][] mask = new long[1][ids[0].length];
        for (int t = 0; t < ids[0].length; t++) {
            positions[0][t] = t;
            mask[0][t] = 1;
        }
        inputs.put("input_ids", OnnxTensor.createTensor(env, ids));
        inputs.put("attention_mask", OnnxTensor.createTensor(env, mask));
        inputs.put("position_ids", OnnxTensor.createTensor(env, positions));
        for (int i = 0; i < spec.numLayers(); i++) {
            for (String part : new String[] {"key", "value"}) {
                inputs.put("past_key_values." + i + "." + part, OnnxTensor.createTensor(env, FloatBuffer.allocate(0),
                        new long[] {1, spec.numKeyValueHeads(), 0, spec.headDim()}));
            }
        }
        try (OrtSession session = env.createSession(model.toString()); OrtSession.Result result = session.run(inputs)) {
            return (float[][][]) result.get("logits").orElseThrow().getValue();
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }
}
