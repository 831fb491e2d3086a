package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.models.decoder.DecoderForSequenceClassification;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Decoder sequence classifiers against references/qwen2_cls, written by tools/reference/classifier_torch.py
 * (Qwen2ForSequenceClassification on families_torch.py's decoder, itself checked against transformers): one full
 * row with a pad id inside it, one right-padded and one left-padded row; reading row 1 at its last position gives
 * other logits (the script checks), so wrong pooling fails here.
 */
class DecoderClassifierTest {
    private static final float TOLERANCE = 2e-5f;

    @Test
    void pooledLogitsAndLossMatchTheReference() throws Exception {
        ReferenceData ref = ReferenceData.load("references/qwen2_cls/reference.safetensors");
        try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(ReferenceData.resource("references/qwen2_cls"))) {
            assertTrue(clf instanceof DecoderForSequenceClassification, "qwen2 folder -> decoder classifier");
            assertEquals(List.of("negative", "neutral", "positive"), clf.classifierConfig().id2label());
            assertEquals(ClassifierConfig.ProblemType.SINGLE_LABEL_CLASSIFICATION, clf.classifierConfig().problemType());
            float[][] logits = clf.logits(ref.ids("input_ids"), ref.ids("attention_mask"));
            float[] expected = ref.floats.get("logits");
            for (int i = 0; i < 3; i++) {
                for (int k = 0; k < 3; k++) {
                    assertEquals(expected[i * 3 + k], logits[i][k], TOLERANCE, "logit [" + i + "][" + k + "]");
                }
            }
            long[] labels = ref.longs.get("labels");
            try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
                Tensor loss = CrossEntropy.loss(clf.forward(ref.ids("input_ids"), ref.ids("attention_mask")),
                        new int[]{(int) labels[0], (int) labels[1], (int) labels[2]});
                assertEquals(ref.floats.get("loss")[0], loss.toFloatArray()[0], TOLERANCE, "mean cross-entropy");
            }
        }
    }

    /**
     * A causal LM folder (Qwen2ForCausalLM) with new labels: lm_head is left out, score is drawn, and the logits are
     * score times the causal LM's own final hidden state of the last token.
     */
    /** A dense decoder, and a mixture of experts (whose sparse blocks route each token alike in both models). */
    @ParameterizedTest
    @ValueSource(strings = {"references/qwen2_sliding", "references/qwen2_moe", "references/gpt_oss"})
    void causalCheckpointGetsANewHeadOverTheSameHiddenStates(String folder) {
        var dir = ReferenceData.resource(folder);
        long[][] ids = {{5, 9, 17, 3, 44, 2, 8}};
        try (var clf = (DecoderForSequenceClassification) AutoModel.loadSequenceClassifier(dir, Device.cpu(),
                twoLabels(dir));
             LanguageModel lm = AutoModel.loadCausalLM(dir);
             var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            assertEquals(2, clf.numLabels());
            assertTrue(!clf.stateDict().containsKey("lm_head.weight"), "no lm_head in a classifier");
            float[] score = clf.stateDict().get("score.weight").toFloatArray();
            double sumSquares = 0;
            for (float v : score) {
                sumSquares += v * v;
            }
            double std = Math.sqrt(sumSquares / score.length);
            assertTrue(std > 0.05 && std < 0.2, "score drawn from N(0, initializer_range 0.1), got std " + std);
            float[] hidden = lm.hiddenStates(ModelInput.of(ids, null)).toFloatArray();
            int c = clf.config().hiddenSize();
            int lastAt = (ids[0].length - 1) * c;
            float[] logits = clf.logits(ids, null)[0];
            for (int k = 0; k < 2; k++) {
                double expected = 0;
                for (int j = 0; j < c; j++) {
                    expected += score[k * c + j] * hidden[lastAt + j];
                }
                assertEquals(expected, logits[k], 1e-4, "label " + k);
            }
        }
    }

    private static ClassifierConfig twoLabels(Path dir) {
        return ClassifierConfig.fromJson(AutoModel.readConfig(dir)).withLabels(List.of("spam", "ham"));
    }

    @Test
    void severalRowsWithoutPadIdAreRefused() {
        try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(ReferenceData.resource("references/qwen2_sliding"),
                Device.cpu(),
                twoLabels(ReferenceData.resource("references/qwen2_sliding")))) {
            var e = assertThrows(IllegalArgumentException.class, () -> clf.logits(new long[][]{{1, 2}, {3, 4}}, null));
            assertTrue(e.getMessage().contains("pad_token_id"), e.getMessage());
        }
    }

    /** BERT's classes carry config.json's names (and its problem type), which the CLI maps labels through. */
    @Test
    void bertReadsItsLabelNamesFromConfig(@TempDir Path tmp) throws Exception {
        Path from = ReferenceData.resource("hf-tiny/bert_cls");
        String config = Files.readString(from.resolve("config.json"))
                .replace("\"0\": \"LABEL_0\"", "\"0\": \"negative\"").replace("\"2\": \"LABEL_2\"", "\"2\": \"positive\"");
        Files.writeString(tmp.resolve("config.json"), config);
        Files.copy(from.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        try (SequenceClassifier clf = AutoModel.loadSequenceClassifier(tmp)) {
            assertEquals(List.of("negative", "LABEL_1", "positive"), clf.classifierConfig().id2label());
            assertEquals(ClassifierConfig.ProblemType.SINGLE_LABEL_CLASSIFICATION, clf.classifierConfig().problemType());
        }
    }

    /** Other labels than config.json's give BERT a new classifier over the checkpoint's pooler, as decoders a new score. */
    @Test
    void newLabelsForBertGetANewClassifierOverTheStoredPooler() {
        Path dir = ReferenceData.resource("hf-tiny/bert_cls");
        try (var stored = AutoModel.loadSequenceClassifier(dir);
             var relabelled = AutoModel.loadSequenceClassifier(dir, Device.cpu(), twoLabels(dir))) {
            assertEquals(List.of("spam", "ham"), relabelled.classifierConfig().id2label());
            assertEquals(2, relabelled.stateDict().get("classifier.weight").dim(0));
            assertArrayEquals(stored.stateDict().get("bert.pooler.dense.weight").toFloatArray(),
                    relabelled.stateDict().get("bert.pooler.dense.weight").toFloatArray(), "the pooler is the checkpoint's");
            assertEquals(2, relabelled.logits(new long[][]{{2, 9, 3}}, null)[0].length);
        }
    }
}
