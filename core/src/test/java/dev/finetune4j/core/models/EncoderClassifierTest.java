package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.models.bert.BertForSequenceClassification;
import dev.finetune4j.core.models.bert.DistilBertForSequenceClassification;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.models.bert.RobertaForSequenceClassification;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RoBERTa, XLM-RoBERTa and DistilBERT classifiers against references/{roberta,xlm_roberta,distilbert}_cls, made by
 * transformers 5.17 itself (tools/reference/encoder_classifiers.py): eval logits of a batch with a pad id among real
 * tokens, a right-padded and a left-padded row (RoBERTa's position ids count real tokens from pad_token_id + 1), the
 * cross-entropy and the gradients of both embedding tables (their pad rows take none), a query, an MLP output, a
 * LayerNorm and the head; bert_pair_cls the same for BERT on sentence pairs with token types 0 and 1 (and the gradient of
 * token_type_embeddings). Then what a user meets beside the reference: a folder without the head (a base model or a
 * masked LM), new labels, a bf16 folder, and a sequence longer than the position table.
 */
class EncoderClassifierTest {
    private static final double LOGIT_TOLERANCE = 2e-5;

    @TempDir
    Path tmp;

    static Stream<String> references() {
        return Stream.of("roberta_cls", "xlm_roberta_cls", "distilbert_cls", "bert_pair_cls");
    }

    @ParameterizedTest
    @MethodSource("references")
    void logitsLossAndGradientsMatchTransformers(String name) throws Exception {
        assertMatchesTransformers(name, Device.cpu());
    }

    /** The reference {@code name}'s logits, loss and gradients on {@code device}. */
    static void assertMatchesTransformers(String name, Device device) throws Exception {
        ReferenceData ref = ReferenceData.load("references/" + name + "/reference.safetensors");
        long[][] ids = ref.ids("input_ids");
        long[][] mask = ref.ids("attention_mask");
        // bert_pair_cls: sentence pairs, types 0 then 1
        long[][] types = ref.longs.containsKey("token_type_ids") ? ref.ids("token_type_ids") : null;
        try (SequenceClassifierModule clf = AutoModel.loadSequenceClassifier(ReferenceData.resource("references/" + name),
                device); var scope = TensorScope.open()) {
            assertTrue(name.startsWith("distilbert") ? clf instanceof DistilBertForSequenceClassification
                    : name.startsWith("bert") ? clf instanceof BertForSequenceClassification
                    : clf instanceof RobertaForSequenceClassification, name + " loads as " + clf.getClass().getSimpleName());
            assertEquals(ClassifierConfig.ProblemType.SINGLE_LABEL_CLASSIFICATION, clf.classifierConfig().problemType());
            String what = name + " on " + device;
            ReferenceGradients.assertClose(ref.floats.get("logits"), flat(clf.logits(ids, mask, types)), LOGIT_TOLERANCE,
                    what + " eval logits");
            Map<String, Tensor> weights = clf.stateDict();
            List<String> gradients = ref.floats.keySet().stream().filter(k -> k.startsWith("grad.")).toList();
            assertEquals(types == null ? 7 : 8, gradients.size(), name + ": the reference's gradients");
            gradients.forEach(k -> weights.get(k.substring("grad.".length())).requiresGrad(true));
            Tensor loss = CrossEntropy.loss(clf.forward(ids, mask, types), labels(ref));
            assertEquals(ref.floats.get("loss")[0], loss.toFloatArray()[0], LOGIT_TOLERANCE, what + " cross-entropy");
            Autograd.backward(loss);
            for (String k : gradients) {
                ReferenceGradients.assertClose(ref.floats.get(k), weights.get(k.substring("grad.".length())).grad()
                        .toFloatArray(), 1e-4, what + " " + k);
            }
        }
    }

    /** Row 1 without its right padding (and without a mask) scores as in the padded batch. */
    @ParameterizedTest
    @ValueSource(strings = {"roberta_cls", "distilbert_cls"})
    void aRightPaddedRowScoresAsTheRowAlone(String name) throws Exception {
        ReferenceData ref = ReferenceData.load("references/" + name + "/reference.safetensors");
        long[] row = ref.ids("input_ids")[1];
        long real = Arrays.stream(ref.ids("attention_mask")[1]).sum();
        try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(ReferenceData.resource("references/" + name))) {
            float[] alone = clf.logits(new long[][]{Arrays.copyOf(row, (int) real)}, null)[0];
            int labels = clf.numLabels();
            ReferenceGradients.assertClose(Arrays.copyOfRange(ref.floats.get("logits"), labels, 2 * labels), alone,
                    LOGIT_TOLERANCE, name + " row 1 alone");
        }
    }

    /**
     * A base model's folder (RobertaModel, DistilBertModel: no prefix, RoBERTa's with a pooler) and a masked LM's
     * (prefixed, with lm_head): the encoder is the reference's, the head is drawn from N(0, initializer_range) with zero
     * biases; given the reference's head, the logits are the reference's.
     */
    @ParameterizedTest
    @CsvSource({"roberta_cls, RobertaModel, false", "xlm_roberta_cls, XLMRobertaForMaskedLM, true",
            "distilbert_cls, DistilBertModel, false"})
    void aFolderWithoutTheHeadGetsOneDrawnAsTransformersDraws(String name, String architecture, boolean prefixed)
            throws Exception {
        Path source = ReferenceData.resource("references/" + name);
        String prefix = name.startsWith("distilbert") ? "distilbert." : "roberta.";
        Map<String, Shape> extra = architecture.equals("RobertaModel") ? Map.of("pooler.dense.weight", Shape.of(32, 32))
                : prefixed ? Map.of("lm_head.dense.weight", Shape.of(32, 32)) : Map.of();
        Path dir = ModelFolders.renamed(source, tmp.resolve(name), n -> isHead(n) ? null : prefixed ? n
                : n.substring(prefix.length()), extra);
        editConfig(dir, c -> c.put("initializer_range", 0.1).putArray("architectures").add(architecture));
        ReferenceData ref = ReferenceData.load("references/" + name + "/reference.safetensors");
        try (var clf = (EncoderClassifier) AutoModel.loadSequenceClassifier(dir);
             SafetensorsCheckpoint stored = SafetensorsCheckpoint.open(source)) {
            Map<String, Tensor> weights = clf.stateDict();
            List<String> head = stored.names().stream().filter(EncoderClassifierTest::isHead).toList();
            assertEquals(clf.headModules().size() * 2, head.size(), "the head's weights and biases");
            for (String n : head) {
                float[] drawn = weights.get(n).toFloatArray();
                if (n.endsWith(".bias")) {
                    assertArrayEquals(new float[drawn.length], drawn, n + " starts at zero");
                } else {
                    double squares = 0;
                    for (float v : drawn) {
                        squares += v * v;
                    }
                    double std = Math.sqrt(squares / drawn.length);
                    assertTrue(std > 0.07 && std < 0.13, n + " drawn from N(0, initializer_range 0.1): std " + std);
                }
                weights.get(n).copyFrom(stored.tensor(n).toFloatArray());
            }
            ReferenceGradients.assertClose(ref.floats.get("logits"), flat(clf.logits(ref.ids("input_ids"),
                    ref.ids("attention_mask"))), LOGIT_TOLERANCE, name + " with the reference's head put back");
        }
    }

    @Test
    void aClassifierFolderWithoutItsHeadIsRefusedAsAPartialDownload() throws Exception {
        Path dir = ModelFolders.renamed(ReferenceData.resource("references/roberta_cls"), tmp.resolve("partial"),
                n -> n.startsWith("classifier.out_proj") ? null : n, Map.of());
        var e = assertThrows(IllegalArgumentException.class, () -> AutoModel.loadSequenceClassifier(dir));
        assertTrue(e.getMessage().contains("no [classifier.out_proj]") && e.getMessage().contains("partial download"),
                e.getMessage());
    }

    /** New labels redraw the projection onto them; RoBERTa's classifier.dense and the encoder stay the checkpoint's. */
    @Test
    void newLabelsRedrawOnlyTheProjectionOntoThem() throws Exception {
        Path dir = ReferenceData.resource("references/roberta_cls");
        ClassifierConfig spamHam = ClassifierConfig.fromJson(AutoModel.readConfig(dir)).withLabels(List.of("spam", "ham"));
        try (var stored = AutoModel.loadSequenceClassifier(dir);
             var relabelled = AutoModel.loadSequenceClassifier(dir, Device.cpu(), spamHam)) {
            assertEquals(List.of("spam", "ham"), relabelled.classifierConfig().id2label());
            assertEquals(2, relabelled.logits(new long[][]{{0, 5, 9, 2}}, null)[0].length);
            Map<String, Tensor> before = stored.stateDict();
            Map<String, Tensor> after = relabelled.stateDict();
            assertEquals(List.of(2, 32), List.of(after.get("classifier.out_proj.weight").dim(0),
                    after.get("classifier.out_proj.weight").dim(1)));
            for (String kept : List.of("classifier.dense.weight", "roberta.encoder.layer.1.output.dense.weight")) {
                assertArrayEquals(before.get(kept).toFloatArray(), after.get(kept).toFloatArray(), kept);
            }
        }
    }

    /** A bf16 folder's logits are those of its float32 rounding (the classifier computes in float32). */
    @ParameterizedTest
    @ValueSource(strings = {"roberta_cls", "distilbert_cls"})
    void aBf16FolderScoresAsItsFloat32Rounding(String name) throws Exception {
        Path source = ReferenceData.resource("references/" + name);
        Path bf16 = ModelFolders.converted(source, tmp.resolve("bf16"), DType.BF16);
        Path rounded = ModelFolders.converted(bf16, tmp.resolve("rounded"), DType.F32);
        ReferenceData ref = ReferenceData.load("references/" + name + "/reference.safetensors");
        long[][] ids = ref.ids("input_ids");
        long[][] mask = ref.ids("attention_mask");
        try (var lm16 = AutoModel.loadSequenceClassifier(bf16); var lm32 = AutoModel.loadSequenceClassifier(rounded)) {
            float[] expected = flat(lm32.logits(ids, mask));
            ReferenceGradients.assertClose(expected, flat(lm16.logits(ids, mask)), 1e-6, name + " bf16 folder");
            ReferenceGradients.assertClose(ref.floats.get("logits"), expected, 0.05, name + " bf16 rounding vs float32");
        }
    }

    /** RoBERTa's positions start after pad_token_id 1: 40 positions hold 38 tokens, and a 39th is refused with the fix. */
    @Test
    void aRowLongerThanThePositionTableIsRefusedWithTheLengthThatFits() throws Exception {
        try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(ReferenceData.resource("references/roberta_cls"))) {
            long[] fits = new long[38];
            Arrays.fill(fits, 7);
            assertEquals(3, clf.logits(new long[][]{fits}, null)[0].length);
            var e = assertThrows(IllegalArgumentException.class, () -> clf.logits(new long[][]{Arrays.copyOf(fits, 39)}, null));
            assertTrue(e.getMessage().contains("max_position_embeddings 40") && e.getMessage().contains("at most 38 tokens"),
                    e.getMessage());
        }
    }

    private static int[] labels(ReferenceData ref) {
        return Arrays.stream(ref.longs.get("labels")).mapToInt(Math::toIntExact).toArray();
    }

    private static float[] flat(float[][] x) {
        float[] out = new float[x.length * x[0].length];
        for (int i = 0; i < x.length; i++) {
            System.arraycopy(x[i], 0, out, i * x[0].length, x[0].length);
        }
        return out;
    }

    private static boolean isHead(String name) {
        return name.startsWith("classifier") || name.startsWith("pre_classifier");
    }

    private static void editConfig(Path dir, Consumer<ObjectNode> edit) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(dir.resolve("config.json").toFile());
        edit.accept(config);
        json.writeValue(dir.resolve("config.json").toFile(), config);
    }
}
