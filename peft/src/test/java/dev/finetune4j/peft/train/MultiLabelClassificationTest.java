package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.ClassifierConfig.ProblemType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.eval.Average;
import dev.finetune4j.eval.ClassificationMetrics;
import dev.finetune4j.eval.ClassificationReport;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Multi-label classification ({@code problem_type: multi_label_classification}): torch's BCEWithLogitsLoss against
 * hand computation and against core's references/qwen2_cls/multi_label.safetensors (tools/reference/
 * classifier_torch.py: logits, mean loss and the head's gradient), finite-difference gradients, a tiny Qwen2 that
 * learns which of three token ranges a row contains, and the saved adapter.
 */
class MultiLabelClassificationTest {
    private static final List<String> LABELS = List.of("a", "b", "c");
    private static final int PAD = 0;

    private static ClassifierConfig multiLabel() {
        return new ClassifierConfig(LABELS, ProblemType.MULTI_LABEL_CLASSIFICATION, OptionalLong.of(PAD));
    }

    private static LoraConfig lora() {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj").loraDropout(0).build();
    }

    /**
     * {@code n} rows of the tiny Qwen2's vocabulary: label j is present when the row holds tokens of range j (a: 1-9,
     * b: 10-19, c: 20-29); every row also holds 1-2 neutral tokens (30, 31), so a row with no label has tokens.
     */
    static ClassificationDataset ranges(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[][] ids = new long[n][];
        float[][] labels = new float[n][3];
        for (int i = 0; i < n; i++) {
            List<Long> row = new ArrayList<>();
            int set = i % 8; // every subset of {a, b, c} in turn
            for (int j = 0; j < 3; j++) {
                if ((set >> j & 1) == 1) {
                    labels[i][j] = 1;
                    random.longs(2, 1 + 10L * j, 10 + 10L * j).forEach(row::add);
                }
            }
            random.longs(1 + random.nextInt(2), 30, 32).forEach(row::add);
            Collections.shuffle(row, new Random(random.nextLong()));
            ids[i] = row.stream().mapToLong(Long::longValue).toArray();
        }
        return ClassificationDataset.of(ids, labels);
    }

    /** BCE with logits by hand: softplus(x) - x y, and its gradient σ(x) - y, at 0, moderate and huge scores. */
    @Test
    void binaryCrossEntropyIsTorchsAndStableForHugeScores() {
        float[] x = {0, 2, -3, 100, -120, 5};
        float[] y = {1, 0, 0, 1, 1, 1};
        try (var scope = TensorScope.open()) {
            Tensor logits = Tensor.of(x, 2, 3).requiresGrad(true);
            Tensor sum = ClassificationObjective.binaryCrossEntropySum(logits, Tensor.of(y, 2, 3));
            // ln 2 + (2 + ln(1 + e^-2)) + ln(1 + e^-3) + ~0 + 120 + ln(1 + e^-5), in double
            assertEquals(122.87537789166578, sum.getFlat(0), 2e-5);
            Autograd.backward(sum);
            float[] expected = {-0.5f, 0.8807970779778823f, 0.04742587317756678f, 0f, -1f, -0.006692850924284732f};
            assertArrayEquals(expected, logits.grad().toFloatArray(), 1e-6f);
        }
    }

    /** The qwen2_cls classifier as multi-label: logits, mean BCE and the head's gradient equal PyTorch's. */
    @Test
    void lossAndHeadGradientEqualPyTorch(@TempDir Path tmp) throws Exception {
        for (String file : List.of("config.json", "model.safetensors", "multi_label.safetensors")) {
            try (InputStream in = getClass().getResourceAsStream("/references/qwen2_cls/" + file)) {
                Files.copy(in, tmp.resolve(file));
            }
        }
        long[][] ids;
        long[][] mask;
        float[] labels;
        float[] logitsRef;
        float lossRef;
        float[] gradRef;
        try (SafetensorsFile ref = SafetensorsFile.open(tmp.resolve("multi_label.safetensors"))) {
            ids = rows(ref.tensor("input_ids").toLongArray(), 10);
            mask = rows(ref.tensor("attention_mask").toLongArray(), 10);
            labels = ref.tensor("labels").toFloatArray();
            logitsRef = ref.tensor("logits").toFloatArray();
            lossRef = ref.tensor("loss").toFloatArray()[0];
            gradRef = ref.tensor("score.weight.grad").toFloatArray();
        }
        ClassifierConfig config = ClassifierConfig.fromJson(AutoModel.readConfig(tmp))
                .withProblemType(ProblemType.MULTI_LABEL_CLASSIFICATION);
        try (var base = AutoModel.loadSequenceClassifier(tmp, Device.cpu(), config)) {
            PeftClassifier clf = Peft.wrap(base, lora()); // LoRA's B is zero: the classifier is the base's
            List<ClassificationExample> rows = new ArrayList<>();
            for (int r = 0; r < ids.length; r++) {
                int length = (int) Arrays.stream(mask[r]).sum(); // right-padded: the real tokens come first
                rows.add(new ClassificationExample(Arrays.copyOf(ids[r], length), Arrays.copyOfRange(labels, 3 * r, 3 * r + 3)));
            }
            var objective = new ClassificationObjective(clf, ClassificationDataset.of(rows), PAD);
            int[] all = {0, 1, 2};
            assertEquals(9, objective.weight(all), "the mean runs over rows and labels");
            Tensor score = clf.trainableParameters().entrySet().stream().filter(e -> e.getKey().endsWith("score.weight"))
                    .findFirst().orElseThrow().getValue();
            clf.train(false);
            try (var scope = TensorScope.open()) {
                Objective.Loss loss = objective.lossSum(all);
                assertEquals(lossRef, loss.sum().getFlat(0) / 9, 2e-6, "mean BCE");
                float[] predicted = loss.predictions().toFloatArray();
                for (int i = 0; i < predicted.length; i++) {
                    assertEquals(logitsRef[i] > 0 ? 1f : 0f, predicted[i], "prediction " + i + ": score " + logitsRef[i]);
                }
                Autograd.backward(loss.sum());
            }
            float[][] logits = clf.logits(ids, mask);
            assertArrayEquals(logitsRef, flat(logits), 2e-5f, "pooled logits");
            float[] grad = score.grad().toFloatArray();
            for (int i = 0; i < grad.length; i++) {
                grad[i] /= 9; // the sum's gradient; PyTorch's is the mean's
            }
            assertArrayEquals(gradRef, grad, 2e-6f, "d loss / d score.weight");
        }
    }

    /** Learns the ranges task; the last evaluation's subset accuracy and F1s equal a recomputation from the logits. */
    @Test
    void learnsAMultiLabelTaskAndReportsMicroAndMacroF1() {
        try (var base = ClassificationTrainerTest.tinyQwen(multiLabel())) {
            PeftClassifier clf = Peft.wrap(base, lora());
            ClassificationDataset heldOut = ranges(24, 2);
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(80).microBatchSize(8).learningRate(2e-2)
                    .schedule(Schedule.CONSTANT).maxGradNorm(1.0).seed(3).evalEverySteps(40).logEverySteps(0).build();
            TrainResult result = ClassificationTrainer.builder().model(clf).config(cfg).trainData(ranges(64, 1))
                    .evalData(heldOut).build().train();
            List<Double> losses = result.lossHistory();
            double first = losses.subList(0, 3).stream().mapToDouble(d -> d).sum();
            double last = losses.subList(77, 80).stream().mapToDouble(d -> d).sum();
            assertTrue(last < 0.3 * first, "loss " + losses);

            boolean[][] truth = new boolean[heldOut.size()][3];
            boolean[][] predicted = new boolean[heldOut.size()][3];
            double lossSum = 0;
            for (int i = 0; i < heldOut.size(); i++) {
                ClassificationExample e = heldOut.get(i);
                float[] logits = clf.logits(new long[][]{e.inputIds()}, null)[0];
                for (int j = 0; j < 3; j++) {
                    truth[i][j] = e.labels()[j] == 1;
                    predicted[i][j] = logits[j] > 0;
                    lossSum += Math.max(logits[j], 0) - logits[j] * e.labels()[j] + Math.log1p(Math.exp(-Math.abs(logits[j])));
                }
            }
            ClassificationReport report = ClassificationMetrics.computeMultiLabel(LABELS, truth, predicted);
            EvalMetrics eval = result.evalHistory().getLast();
            assertTrue(report.f1(Average.MICRO) >= 0.9, "held-out micro F1 " + report.f1(Average.MICRO));
            assertEquals(report.accuracy(), eval.extra().get("accuracy"), 1e-12);
            assertEquals(report.f1(Average.MICRO), eval.extra().get("f1_micro"), 1e-12);
            assertEquals(report.f1(Average.MACRO), eval.extra().get("f1_macro"), 1e-12);
            assertEquals(lossSum / (3.0 * heldOut.size()), eval.loss(), 1e-4, "mean BCE over rows and labels");
        }
    }

    @Test
    void headAndLoraGradientsMatchFiniteDifferences() {
        try (var base = ClassificationTrainerTest.tinyQwen(multiLabel())) {
            PeftClassifier clf = Peft.wrap(base, lora());
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(4).microBatchSize(8).learningRate(1e-2).seed(1)
                    .logEverySteps(0).build();
            // a few steps first, so that LoRA's B (zero at initialisation) has moved and every gradient is generic
            ClassificationTrainer.builder().model(clf).config(cfg).trainData(ranges(16, 4)).build().train();
            EveryMethodTrainsTest.assertGradientsMatchFiniteDifferences("multi-label lora+score", false,
                    TrainedModel.of(clf), new ClassificationObjective(clf, ranges(8, 5), PAD));
        }
    }

    /** BF16_MIXED trains too (the loss runs in float32), and the saved SEQ_CLS adapter carries the head as before. */
    @Test
    void trainsInBf16MixedAndSavesTheHead(@TempDir Path tmp) throws Exception {
        try (var base = ClassificationTrainerTest.tinyQwen(multiLabel())) {
            PeftClassifier clf = Peft.wrap(base, lora());
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(16).microBatchSize(8).learningRate(1e-2)
                    .precision(Precision.BF16_MIXED).schedule(Schedule.CONSTANT).shuffle(false).seed(1).logEverySteps(0).build();
            List<Double> losses = ClassificationTrainer.builder().model(clf).config(cfg).trainData(ranges(16, 4))
                    .build().train().lossHistory();
            assertTrue(losses.get(14) + losses.get(15) < 0.9 * (losses.get(0) + losses.get(1)), "bf16-mixed: " + losses);
            clf.save(tmp.resolve("adapter"));
        }
        try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve("adapter/adapter_model.safetensors"))) {
            assertTrue(f.names().contains("base_model.model.score.weight"), f.names().toString());
        }
        String json = Files.readString(tmp.resolve("adapter/adapter_config.json"));
        assertTrue(json.replace(" ", "").contains("\"modules_to_save\":[\"classifier\",\"score\"]"), json);
    }

    @Test
    void refusesLabelVectorsThatDoNotFitTheProblemType() {
        try (var base = ClassificationTrainerTest.tinyQwen(multiLabel())) {
            PeftClassifier clf = Peft.wrap(base, lora());
            for (float[] bad : List.of(new float[]{1, 0}, new float[]{1, 0.5f, 0}, new float[]{2})) {
                var data = ClassificationDataset.of(List.of(new ClassificationExample(new long[]{3, 4}, bad)));
                var e = assertThrows(IllegalArgumentException.class, () -> new ClassificationObjective(clf, data, PAD));
                assertTrue(e.getMessage().contains("example 0") && e.getMessage().contains("one 0 or 1 per class"),
                        e.getMessage());
            }
        }
        try (var base = ClassificationTrainerTest.tinyQwen(LABELS)) {
            PeftClassifier clf = Peft.wrap(base, lora());
            var e = assertThrows(IllegalArgumentException.class, () -> new ClassificationObjective(clf, ranges(2, 1), PAD));
            assertTrue(e.getMessage().contains("single_label_classification") && e.getMessage().contains("withProblemType"),
                    e.getMessage());
            assertThrows(IllegalStateException.class, () -> ranges(2, 1).get(0).label());
        }
        var regression = assertThrows(IllegalArgumentException.class,
                () -> multiLabel().withProblemType(ProblemType.REGRESSION));
        assertTrue(regression.getMessage().contains("num_labels 1"), regression.getMessage());
    }

    private static long[][] rows(long[] flat, int width) {
        return IntStream.range(0, flat.length / width).mapToObj(r -> Arrays.copyOfRange(flat, r * width, r * width + width))
                .toArray(long[][]::new);
    }

    private static float[] flat(float[][] x) {
        float[] out = new float[Arrays.stream(x).mapToInt(r -> r.length).sum()];
        int at = 0;
        for (float[] row : x) {
            System.arraycopy(row, 0, out, at, row.length);
            at += row.length;
        }
        return out;
    }
}
