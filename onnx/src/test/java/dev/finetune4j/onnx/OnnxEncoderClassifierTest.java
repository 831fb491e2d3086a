package dev.finetune4j.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static dev.finetune4j.onnx.OnnxExporterTest.TOLERANCE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Encoder classifiers exported and run in ONNX Runtime give the logits of transformers 5.17 (core's references:
 * hf-tiny/bert_cls, RoBERTa, XLM-RoBERTa and DistilBERT from tools/reference/encoder_classifiers.py, and BERT fed
 * sentence pairs with token types 0 and 1), padded rows included, within {@value OnnxExporterTest#TOLERANCE}; each row
 * that is not left-padded gives its logits alone, without its padding, in the same session (dynamic batch and sequence
 * axes). A merged LoRA
 * exports what the unmerged PeftClassifier computes; bf16 weights, each activation a config may name, config.json
 * with the labels, the tokenizer files, and the refusals.
 */
class OnnxEncoderClassifierTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double ACTIVATION_TOLERANCE = 2e-6;

    @ParameterizedTest
    @CsvSource({"hf-tiny/bert_cls, input_ids attention_mask token_type_ids",
            "references/bert_pair_cls, input_ids attention_mask token_type_ids",
            "references/roberta_cls, input_ids attention_mask",
            "references/xlm_roberta_cls, input_ids attention_mask",
            "references/distilbert_cls, input_ids attention_mask"})
    void onnxRuntimeComputesTransformersLogitsForTheBatchAndEachRowAlone(String fixture, String inputs,
                                                                          @TempDir Path tmp) throws Exception {
        CoreFixture ref = CoreFixture.copy(fixture, tmp.resolve("model"));
        long[][] ids = ref.ids("input_ids");
        long[][] mask = ref.ids("attention_mask");
        long[][] types = ref.has("token_type_ids") ? ref.ids("token_type_ids") : new long[ids.length][ids[0].length];
        float[][] expected = ref.matrix("logits");
        try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(ref.folder());
             OrtClassifier ort = new OrtClassifier(OnnxExporter.export(clf, tmp.resolve("onnx")))) {
            assertEquals(List.of(inputs.split(" ")), ort.inputNames(), "Optimum's inputs for " + fixture);
            assertWithin(expected, ort.logits(ids, mask, types), fixture + ", padded batch");
            for (int row = 0; row < ids.length; row++) {
                if (mask[row][0] == 0) {
                    continue; // left-padded: the head reads the pad token at position 0, as transformers' does
                }
                float[][] alone = ort.logits(new long[][]{real(ids[row], mask[row])},
                        new long[][]{real(mask[row], mask[row])}, new long[][]{real(types[row], mask[row])});
                assertWithin(new float[][]{expected[row]}, alone, fixture + ", row " + row + " alone without padding");
            }
        }
    }

    /** A LoRA on q/v (random B, so that it changes the logits) merged before the export. */
    @ParameterizedTest
    @CsvSource({"references/roberta_cls, query value", "references/distilbert_cls, q_lin v_lin"})
    void aMergedLoraExportsWhatTheUnmergedPeftClassifierComputes(String fixture, String targets, @TempDir Path tmp)
            throws Exception {
        CoreFixture ref = CoreFixture.copy(fixture, tmp.resolve("model"));
        long[][] ids = ref.ids("input_ids");
        long[][] mask = ref.ids("attention_mask");
        try (SequenceClassifierModule base = AutoModel.loadSequenceClassifier(ref.folder())) {
            float[][] baseLogits = base.logits(ids, mask);
            PeftClassifier adapted = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8)
                    .targetModules(targets.split(" ")).initLoraWeights(LoraInit.RANDOM).build());
            float[][] expected = adapted.logits(ids, mask);
            assertTrue(largest(baseLogits, expected) > 100 * TOLERANCE, "the adapter must change the logits");

            var refused = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(adapted, tmp.resolve("onnx")));
            assertTrue(refused.getMessage().contains("PeftClassifier.mergeAndUnload()"), refused.getMessage());
            var wrapped = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(adapted.base(), tmp.resolve("onnx")));
            assertTrue(wrapped.getMessage().contains("mergeAndUnload()"), wrapped.getMessage());
            assertFalse(Files.exists(tmp.resolve("onnx")), "a refused export writes nothing");

            SequenceClassifier merged = adapted.mergeAndUnload();
            try (OrtClassifier ort = new OrtClassifier(OnnxExporter.export(merged, tmp.resolve("onnx")))) {
                assertWithin(expected, ort.logits(ids, mask, null), fixture + " with a merged LoRA");
            }
        }
    }

    /** The classifier's weights turned into bf16 in memory (a loaded folder's are float32), written as float32. */
    @Test
    void bf16WeightsAreExportedAsFloat32(@TempDir Path tmp) throws Exception {
        CoreFixture ref = CoreFixture.copy("references/bert_pair_cls", tmp.resolve("model"));
        long[][] ids = ref.ids("input_ids");
        long[][] mask = ref.ids("attention_mask");
        try (SequenceClassifierModule clf = AutoModel.loadSequenceClassifier(ref.folder())) {
            Map<String, Module> modules = clf.namedModules();
            clf.stateDict().forEach((name, weight) -> {
                int dot = name.lastIndexOf('.');
                modules.get(name.substring(0, dot)).setParameter(name.substring(dot + 1),
                        weight.convertTo(DType.BF16, clf.parameterScope()));
            });
            assertEquals(DType.BF16, clf.stateDict().get("bert.encoder.layer.0.attention.self.query.weight").dtype());
            float[][] ours = clf.logits(ids, mask);
            assertTrue(largest(ref.matrix("logits"), ours) > 0, "bf16 rounding changes the logits");
            try (OrtClassifier ort = new OrtClassifier(OnnxExporter.export(clf, tmp.resolve("onnx")))) {
                assertWithin(ours, ort.logits(ids, mask, new long[ids.length][ids[0].length]),
                        "bert_pair_cls in bf16, token types 0");
            }
        }
    }

    /**
     * RoBERTa's weights with each MLP activation a config may name, against finetune4j's own logits within
     * {@value #ACTIVATION_TOLERANCE}: GELU's tanh form moves these logits by only 5.5e-5 from the erf GELU's (below
     * {@value OnnxExporterTest#TOLERANCE}), so the tighter bound tells an export that computed the other GELU.
     */
    @ParameterizedTest
    @CsvSource({"gelu, 0", "gelu_new, 4e-5", "relu, 1e-2", "silu, 1e-2"})
    void theMlpActivationIsTheConfigs(String activation, double movedAtLeast, @TempDir Path tmp) throws Exception {
        CoreFixture ref = CoreFixture.copy("references/roberta_cls", tmp.resolve("model"));
        ObjectNode config = (ObjectNode) JSON.readTree(ref.folder().resolve("config.json").toFile());
        Files.writeString(ref.folder().resolve("config.json"), config.put("hidden_act", activation).toString());
        long[][] ids = ref.ids("input_ids");
        long[][] mask = ref.ids("attention_mask");
        try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(ref.folder());
             OrtClassifier ort = new OrtClassifier(OnnxExporter.export(clf, tmp.resolve("onnx")))) {
            float[][] ours = clf.logits(ids, mask);
            assertTrue(largest(ref.matrix("logits"), ours) >= movedAtLeast, activation + " moves the erf GELU's logits");
            assertWithin(ours, ort.logits(ids, mask, null), ACTIVATION_TOLERANCE, "roberta_cls with " + activation);
            assertEquals(activation, JSON.readTree(tmp.resolve("onnx/config.json").toFile()).path("hidden_act").asText());
        }
    }

    /**
     * config.json holds the classifier's own labels (here new ones, which its source folder does not know) and the
     * tokenizer files are copied; a second export replaces the first's folder, config and tokenizer included.
     */
    @Test
    void theFolderHoldsConfigWithTheLabelsAndTheTokenizerFiles(@TempDir Path tmp) throws Exception {
        CoreFixture ref = CoreFixture.copy("references/roberta_cls", tmp.resolve("model"));
        ReferenceFolders.copy("tokenizer/bert-wordpiece", List.of("tokenizer.json", "tokenizer_config.json"), ref.folder());
        ClassifierConfig labels = ClassifierConfig.fromJson(AutoModel.readConfig(ref.folder()))
                .withLabels(List.of("spam", "ham"));
        Path out = tmp.resolve("onnx");
        try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(ref.folder(), Device.cpu(), labels)) {
            OnnxExporter.export(clf, out, ref.folder());
            JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
            assertEquals("RobertaForSequenceClassification", config.path("architectures").path(0).asText());
            assertEquals("roberta", config.path("model_type").asText());
            assertEquals("ham", config.path("id2label").path("1").asText());
            assertEquals(0, config.path("label2id").path("spam").asInt(-1));
            assertEquals(1, config.path("pad_token_id").asInt());
            assertEquals(32, config.path("hidden_size").asInt());
            for (String file : List.of("tokenizer.json", "tokenizer_config.json")) {
                assertEquals(Files.readString(ref.folder().resolve(file)), Files.readString(out.resolve(file)), file);
            }
            assertEquals(List.of("config.json", "model.onnx", "model.onnx.data", "tokenizer.json", "tokenizer_config.json"),
                    entries(out));
            OnnxExporter.export(clf, out);
            assertEquals(List.of("config.json", "model.onnx", "model.onnx.data"), entries(out),
                    "the second export replaced the first's files, its tokenizer files included");
        }
    }

    @Test
    void foldersThatAreNotAPreviousExportAreRefused(@TempDir Path tmp) throws Exception {
        CoreFixture ref = CoreFixture.copy("references/distilbert_cls", tmp.resolve("model"));
        try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(ref.folder())) {
            Path mine = Files.createDirectories(tmp.resolve("mine"));
            Files.writeString(mine.resolve("notes.txt"), "keep");
            var foreign = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(clf, mine));
            assertTrue(foreign.getMessage().contains("notes.txt"), foreign.getMessage());
            assertEquals("keep", Files.readString(mine.resolve("notes.txt")));

            // a model's config and tokenizer without a graph beside them are not an export's
            Path tokenizerOnly = Files.createDirectories(tmp.resolve("tokenizer-only"));
            Files.writeString(tokenizerOnly.resolve("config.json"), "{}");
            Files.writeString(tokenizerOnly.resolve("tokenizer.json"), "{}");
            var companions = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(clf, tokenizerOnly));
            assertTrue(companions.getMessage().contains("config.json, tokenizer.json"), companions.getMessage());

            var intoSource = assertThrows(IllegalArgumentException.class,
                    () -> OnnxExporter.export(clf, ref.folder(), ref.folder()));
            assertTrue(intoSource.getMessage().contains("the model's folder"), intoSource.getMessage());
            var notAFolder = assertThrows(IllegalArgumentException.class,
                    () -> OnnxExporter.export(clf, tmp.resolve("onnx"), mine.resolve("notes.txt")));
            assertTrue(notAFolder.getMessage().contains("is not a folder"), notAFolder.getMessage());
        }
    }

    @Test
    void aDecoderClassifierIsRefused(@TempDir Path tmp) throws Exception {
        ReferenceFolders.copy("references/qwen2_cls", List.of("config.json", "model.safetensors"), tmp.resolve("qwen2"));
        try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(tmp.resolve("qwen2"))) {
            var e = assertThrows(IllegalArgumentException.class, () -> OnnxExporter.export(clf, tmp.resolve("onnx")));
            assertTrue(e.getMessage().contains("not a decoder's classifier (model_type 'qwen2')"), e.getMessage());
        }
    }

    /** The entries of {@code row} where {@code mask} is 1: the row without its padding. */
    private static long[] real(long[] row, long[] mask) {
        return IntStream.range(0, row.length).filter(i -> mask[i] != 0).mapToLong(i -> row[i]).toArray();
    }

    private static void assertWithin(float[][] expected, float[][] actual, String what) {
        assertWithin(expected, actual, TOLERANCE, what);
    }

    private static void assertWithin(float[][] expected, float[][] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + ": rows");
        double worst = largest(expected, actual);
        System.out.println(what + ": largest logit difference " + worst);
        assertTrue(worst < tolerance, what + ": largest logit difference " + worst + "; expected "
                + Arrays.deepToString(expected) + ", got " + Arrays.deepToString(actual));
    }

    /** The largest absolute difference of two [rows][labels] arrays; NaN counts as infinite. */
    private static double largest(float[][] a, float[][] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i].length, b[i].length, "labels of row " + i);
            for (int j = 0; j < a[i].length; j++) {
                double d = Math.abs(a[i][j] - b[i][j]);
                worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(worst, d);
            }
        }
        return worst;
    }

    private static List<String> entries(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
