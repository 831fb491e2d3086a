package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderForSequenceClassification;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.eval.Average;
import dev.finetune4j.eval.ClassificationMetrics;
import dev.finetune4j.eval.ClassificationReport;
import dev.finetune4j.peft.Fixtures;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.adapter.BottleneckConfig;
import dev.finetune4j.peft.freeze.FreezeConfig;
import dev.finetune4j.peft.ia3.Ia3Config;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ClassificationTrainer} on a tiny random Qwen2 classifier (vocabulary 32, pad id 0) and on hf-tiny/bert_cls:
 * a task the tokens separate (class 0 uses ids 1-11, class 1 ids 12-23, class 2 ids 24-31, rows of 3 to 7 tokens,
 * right-padded in micro-batches), the loss against a hand computation, gradients against finite differences, the
 * saved SEQ_CLS adapter's names and a bit-exact resume.
 */
class ClassificationTrainerTest {
    private static final int VOCAB = 32;
    private static final int PAD = 0;

    /** A random Qwen2 (2 layers, hidden 32) with a {@code score} head for {@code labels}; weights N(0, 0.1), seed 5. */
    static DecoderForSequenceClassification tinyQwen(List<String> labels) {
        return tinyQwen(labels, OptionalLong.of(PAD));
    }

    /** {@link #tinyQwen(List)} with the given pad id, or none. */
    static DecoderForSequenceClassification tinyQwen(List<String> labels, OptionalLong pad) {
        return tinyQwen(new ClassifierConfig(labels, ClassifierConfig.ProblemType.of(null, labels.size()), pad));
    }

    /** {@link #tinyQwen(List)} with the given labels, problem type and pad id. */
    static DecoderForSequenceClassification tinyQwen(ClassifierConfig classifier) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", "qwen2").put("vocab_size", VOCAB).put("hidden_size", 32).put("intermediate_size", 64)
                .put("num_hidden_layers", 2).put("num_attention_heads", 4).put("num_key_value_heads", 2)
                .put("max_position_embeddings", 32).put("rms_norm_eps", 1e-6).put("rope_theta", 10000.0)
                .put("hidden_act", "silu").put("tie_word_embeddings", false);
        var model = new DecoderForSequenceClassification(TensorScope.detached(), DecoderConfig.fromJson(c), classifier);
        StateDicts.initNormal(model, 0.1, new SplittableRandom(5));
        return model;
    }

    private static LoraConfig.Builder lora() {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj").loraDropout(0);
    }

    /** {@code n} rows; row i is of class i mod 3, its tokens drawn from that class's range. */
    static ClassificationDataset separable(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[][] ids = new long[n][];
        int[] labels = new int[n];
        long[][] ranges = {{1, 12}, {12, 24}, {24, VOCAB}};
        for (int i = 0; i < n; i++) {
            labels[i] = i % 3;
            ids[i] = random.longs(3 + random.nextInt(5), ranges[labels[i]][0], ranges[labels[i]][1]).toArray();
        }
        return ClassificationDataset.of(ids, labels);
    }

    @Test
    void learnsASeparableTaskAndReportsAccuracyAndMacroF1() {
        try (var base = tinyQwen(List.of("a", "b", "c"))) {
            PeftClassifier clf = Peft.wrap(base, lora().build());
            ClassificationDataset heldOut = separable(24, 2);
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(30).microBatchSize(4).gradientAccumulationSteps(2)
                    .learningRate(1e-2).schedule(Schedule.LINEAR).warmupSteps(3).maxGradNorm(1.0).seed(3)
                    .evalEverySteps(10).logEverySteps(0).build();
            TrainResult result = ClassificationTrainer.builder().model(clf).config(cfg).trainData(separable(48, 1))
                    .evalData(heldOut).build().train();
            List<Double> losses = result.lossHistory();
            double first = losses.subList(0, 3).stream().mapToDouble(d -> d).sum();
            double last = losses.subList(27, 30).stream().mapToDouble(d -> d).sum();
            assertTrue(last < 0.3 * first, "loss " + losses);

            // the last evaluation's numbers, recomputed from the trained classifier's own logits
            long[][] ids = heldOut.examples().stream().map(ClassificationExample::inputIds).toArray(long[][]::new);
            int[] truth = heldOut.examples().stream().mapToInt(e -> (int) e.label()).toArray();
            int[] predicted = new int[ids.length];
            double lossSum = 0;
            for (int i = 0; i < ids.length; i++) {
                float[] logits = clf.logits(new long[][]{ids[i]}, null)[0];
                predicted[i] = argmax(logits);
                lossSum += logSumExp(logits) - logits[truth[i]];
            }
            ClassificationReport report = ClassificationMetrics.compute(truth, predicted);
            EvalMetrics eval = result.evalHistory().getLast();
            assertTrue(report.accuracy() >= 0.95, "held-out accuracy " + report.accuracy());
            assertEquals(report.accuracy(), eval.extra().get("accuracy"), 1e-12);
            assertEquals(report.f1(Average.MACRO), eval.extra().get("f1_macro"), 1e-12);
            assertEquals(lossSum / ids.length, eval.loss(), 1e-4, "mean cross-entropy over the padded batches");
        }
    }

    /** The loss sums: cross-entropy and, for one label, the squared error, each from the logits by hand. */
    @Test
    void lossSumsAreCrossEntropyAndSquaredError() {
        for (List<String> labels : List.of(List.of("a", "b", "c"), List.of("score"))) {
            try (var base = tinyQwen(labels)) {
                PeftClassifier clf = Peft.wrap(base, lora().build());
                ClassificationDataset data = labels.size() == 1
                        ? ClassificationDataset.of(List.of(new ClassificationExample(new long[]{3, 4, 5}, 0.5f),
                        new ClassificationExample(new long[]{7, 8}, -1.25f)))
                        : separable(5, 9);
                var objective = new ClassificationObjective(clf, data, PAD);
                int[] all = IntStream.range(0, data.size()).toArray();
                double expected = 0;
                for (ClassificationExample e : data.examples()) {
                    float[] logits = clf.logits(new long[][]{e.inputIds()}, null)[0];
                    expected += labels.size() == 1 ? Math.pow(logits[0] - e.label(), 2)
                            : logSumExp(logits) - logits[(int) e.label()];
                }
                try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
                    assertEquals(expected, objective.lossSum(all).sum().getFlat(0), 1e-4, labels + " loss sum");
                }
            }
        }
    }

    /** The PEFT methods a classifier takes (prompt and prefix tuning need a causal LM); how each wraps one. */
    enum Method {
        LORA(b -> Peft.wrap(b, lora().build())),
        DORA(b -> Peft.wrap(b, lora().useDora(true).build())),
        IA3(b -> Peft.wrap(b, Ia3Config.of(List.of("k_proj", "v_proj", "down_proj"), List.of("down_proj")))),
        // a smooth activation: finite differences across ReLU's kink would not measure the gradient
        HOULSBY(b -> Peft.wrap(b, new BottleneckConfig(BottleneckConfig.Placement.HOULSBY, 4, Activations.Kind.GELU_EXACT, null))),
        FREEZE(b -> Peft.wrap(b, new FreezeConfig(1, null, null)));

        final Function<DecoderForSequenceClassification, PeftClassifier> wrap;

        Method(Function<DecoderForSequenceClassification, PeftClassifier> wrap) {
            this.wrap = wrap;
        }
    }

    /** Each method trains the decoder classifier (the loss falls) and its gradients agree with finite differences. */
    @ParameterizedTest
    @EnumSource(Method.class)
    void everyMethodThatAppliesTrainsWithTrueGradients(Method method) {
        try (var base = tinyQwen(List.of("a", "b", "c"))) {
            PeftClassifier clf = method.wrap.apply(base);
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(12).microBatchSize(6).learningRate(1e-2)
                    .schedule(Schedule.CONSTANT).shuffle(false).seed(1).logEverySteps(0).build();
            List<Double> losses = ClassificationTrainer.builder().model(clf).config(cfg).trainData(separable(12, 4))
                    .build().train().lossHistory();
            // two steps per epoch: the first epoch against the last
            assertTrue(losses.get(10) + losses.get(11) < 0.9 * (losses.get(0) + losses.get(1)), method + ": " + losses);
            EveryMethodTrainsTest.assertGradientsMatchFiniteDifferences(method.name(), method == Method.DORA,
                    TrainedModel.of(clf), new ClassificationObjective(clf, separable(6, 5), PAD));
        }
    }

    @Test
    void headAndLoraGradientsMatchFiniteDifferences() {
        try (var base = tinyQwen(List.of("a", "b", "c"))) {
            PeftClassifier clf = Peft.wrap(base, lora().build());
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(4).microBatchSize(6).learningRate(1e-2).seed(1)
                    .logEverySteps(0).build();
            // a few steps first, so that LoRA's B (zero at initialisation) has moved and every gradient is generic
            ClassificationTrainer.builder().model(clf).config(cfg).trainData(separable(12, 4)).build().train();
            var objective = new ClassificationObjective(clf, separable(6, 5), PAD);
            assertTrue(clf.trainableParameters().keySet().stream().anyMatch(k -> k.endsWith("score.weight")),
                    "the head trains: " + clf.trainableParameters().keySet());
            EveryMethodTrainsTest.assertGradientsMatchFiniteDifferences("lora+score", false, TrainedModel.of(clf), objective);
        }
    }

    /**
     * The newer families' classifiers (latent attention and a mixture; gated DeltaNet and attention layers) train
     * with LoRA on their default targets and the head: a few steps, then the gradients against finite differences.
     */
    @ParameterizedTest
    @ValueSource(strings = {"deepseek_v3", "qwen3_next"})
    void newerFamiliesTrainAsClassifiers(String family, @TempDir Path tmp) throws Exception {
        // core's reference folder, out of its test jar
        Path dir = ReferenceFolders.copy("references/" + family, List.of("config.json", "model.safetensors"), tmp);
        ClassifierConfig labels = ClassifierConfig.fromJson(AutoModel.readConfig(dir)).withLabels(List.of("a", "b", "c"))
                .withPadTokenId(PAD);
        try (var base = AutoModel.loadSequenceClassifier(dir, Device.cpu(), labels)) {
            PeftClassifier clf = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).build());
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(3).microBatchSize(6).learningRate(1e-2).seed(1)
                    .logEverySteps(0).build();
            ClassificationTrainer.builder().model(clf).config(cfg).trainData(separable(12, 4)).build().train();
            EveryMethodTrainsTest.assertGradientsMatchFiniteDifferences(family + " lora+score", false,
                    TrainedModel.of(clf), new ClassificationObjective(clf, separable(6, 5), PAD));
        }
    }

    /** PEFT's names (score as modules_to_save, task SEQ_CLS), and the folder loads back to the same logits. */
    @Test
    void savedSeqClsAdapterHasPeftNamesAndLoadsBack(@TempDir Path tmp) throws Exception {
        long[][] ids = {{3, 4, 5, 0, 0}, {14, 15, 16, 17, 18}};
        float[][] trained;
        try (var base = tinyQwen(List.of("a", "b", "c"))) {
            PeftClassifier clf = Peft.wrap(base, lora().build());
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(3).microBatchSize(4).learningRate(1e-2).logEverySteps(0).build();
            ClassificationTrainer.builder().model(clf).config(cfg).trainData(separable(12, 6)).build().train();
            clf.save(tmp.resolve("adapter"));
            trained = clf.logits(ids, null);
        }
        try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve("adapter/adapter_model.safetensors"))) {
            assertTrue(f.names().contains("base_model.model.score.weight"), f.names().toString());
            assertTrue(f.names().contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"), f.names().toString());
        }
        String json = Files.readString(tmp.resolve("adapter/adapter_config.json"));
        assertTrue(json.contains("\"task_type\" : \"SEQ_CLS\"") || json.contains("\"task_type\":\"SEQ_CLS\""), json);
        assertTrue(json.contains("\"score\""), json);
        try (var base = tinyQwen(List.of("a", "b", "c"))) {
            PeftClassifier again = Peft.load(base, tmp.resolve("adapter"));
            float[][] loaded = again.logits(ids, null);
            for (int i = 0; i < ids.length; i++) {
                assertArrayEquals(trained[i], loaded[i], "row " + i);
            }
            float[][] plain;
            try (var off = again.disableAdapter()) {
                plain = again.logits(ids, null);
            }
            assertTrue(!Arrays.equals(plain[1], loaded[1]), "the adapter and trained head change the logits");
        }
    }

    /** A run resumed from its step-3 checkpoint ends with the adapter of the uninterrupted run, bit for bit. */
    @Test
    void resumesBitExactlyWithLoraDropout(@TempDir Path tmp) {
        LoraConfig dropout = lora().loraDropout(0.2).build();
        Map<String, float[]> uninterrupted;
        try (var base = tinyQwen(List.of("a", "b", "c"))) {
            PeftClassifier clf = Peft.wrap(base, dropout);
            ClassificationTrainer.builder().model(clf).config(resumable(tmp.resolve("a"))).trainData(separable(12, 7))
                    .build().train();
            uninterrupted = values(clf.trainableParameters());
        }
        try (var base = tinyQwen(List.of("a", "b", "c"))) {
            PeftClassifier clf = Peft.wrap(base, dropout);
            ClassificationTrainer.builder().model(clf).config(resumable(tmp.resolve("b"))).trainData(separable(12, 7))
                    .build().resume(tmp.resolve("a").resolve(Checkpoints.PREFIX + 3));
            Map<String, float[]> resumed = values(clf.trainableParameters());
            uninterrupted.forEach((name, values) -> assertArrayEquals(values, resumed.get(name), name));
        }
    }

    private static TrainingConfig resumable(Path out) {
        return TrainingConfig.builder().maxSteps(6).microBatchSize(4).learningRate(1e-2).seed(2).saveEverySteps(3)
                .outputDir(out).logEverySteps(0).build();
    }

    /**
     * The decoder classifier under BF16_MIXED learns too, and gradient checkpointing (which recomputes each layer in
     * the backward) gives the weights of a run without it, bit for bit.
     */
    @Test
    void decoderTrainsInBf16MixedAndWithGradientCheckpointing() {
        Map<String, float[]> plain = null;
        for (boolean checkpointing : List.of(false, true)) {
            try (var base = tinyQwen(List.of("a", "b", "c"))) {
                PeftClassifier clf = Peft.wrap(base, lora().build());
                TrainingConfig cfg = TrainingConfig.builder().maxSteps(3).microBatchSize(4).learningRate(1e-2).seed(1)
                        .gradientCheckpointing(checkpointing).logEverySteps(0).build();
                ClassificationTrainer.builder().model(clf).config(cfg).trainData(separable(12, 3)).build().train();
                Map<String, float[]> trained = values(clf.trainableParameters());
                if (plain == null) {
                    plain = trained;
                } else {
                    plain.forEach((name, v) -> assertArrayEquals(v, trained.get(name), name + " with gradient checkpointing"));
                }
            }
        }
        try (var base = tinyQwen(List.of("a", "b", "c"))) {
            PeftClassifier clf = Peft.wrap(base, lora().build());
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(12).microBatchSize(6).learningRate(1e-2)
                    .precision(Precision.BF16_MIXED).schedule(Schedule.CONSTANT).shuffle(false).seed(1).logEverySteps(0).build();
            List<Double> losses = ClassificationTrainer.builder().model(clf).config(cfg).trainData(separable(12, 4))
                    .build().train().lossHistory();
            assertTrue(losses.get(10) + losses.get(11) < 0.9 * (losses.get(0) + losses.get(1)), "bf16-mixed: " + losses);
        }
    }

    /** BERT (hf-tiny/bert_cls, two labels) trains its LoRA and classifier head; BF16_MIXED passes too. */
    @Test
    void bertTrainsInFloat32AndBf16Mixed() {
        for (Precision precision : List.of(Precision.F32, Precision.BF16_MIXED)) {
            try (var base = AutoModel.loadSequenceClassifier(Fixtures.dir("bert_cls"))) {
                PeftClassifier clf = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).targetModules("query", "value").build());
                int vocab = clf.spec().vocabSize();
                SplittableRandom random = new SplittableRandom(8);
                List<ClassificationExample> rows = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    int label = i % 2;
                    long[] ids = random.longs(4 + i % 3, label == 0 ? 1 : vocab / 2, label == 0 ? vocab / 2 : vocab).toArray();
                    rows.add(new ClassificationExample(ids, label));
                }
                TrainingConfig cfg = TrainingConfig.builder().maxSteps(16).microBatchSize(4).learningRate(2e-2)
                        .precision(precision).seed(1).logEverySteps(0).build();
                List<Double> losses = ClassificationTrainer.builder().model(clf).config(cfg)
                        .trainData(ClassificationDataset.of(rows)).build().train().lossHistory();
                double first = losses.get(0) + losses.get(1) + losses.get(2) + losses.get(3);
                double last = losses.get(12) + losses.get(13) + losses.get(14) + losses.get(15);
                assertTrue(last < 0.8 * first, precision + ": loss " + losses);
            }
        }
    }

    @Test
    void refusesLabelsOutsideTheClassesAndAPadIdOtherThanTheConfigs() {
        try (var base = tinyQwen(List.of("a", "b"))) {
            PeftClassifier clf = Peft.wrap(base, lora().build());
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(1).logEverySteps(0).build();
            var bad = ClassificationDataset.of(new long[][]{{1, 2}, {3}}, new int[]{0, 2});
            var e = assertThrows(IllegalArgumentException.class,
                    () -> ClassificationTrainer.builder().model(clf).config(cfg).trainData(bad).build());
            assertTrue(e.getMessage().contains("example 1 has label 2.0"), e.getMessage());
            var pad = assertThrows(IllegalArgumentException.class, () -> ClassificationTrainer.builder().model(clf)
                    .config(cfg).trainData(separable(3, 1)).padTokenId(5).build());
            assertTrue(pad.getMessage().contains("pad_token_id 0"), pad.getMessage());
        }
    }

    /** Without a pad id a decoder cannot find a padded row's end: batches of one row only, as transformers has it. */
    @Test
    void aDecoderWithoutPadIdIsRefusedForBatchesButTrainsRowByRow() {
        try (var base = tinyQwen(List.of("a", "b", "c"), OptionalLong.empty())) {
            PeftClassifier clf = Peft.wrap(base, lora().build());
            TrainingConfig.Builder cfg = TrainingConfig.builder().maxSteps(2).learningRate(1e-2).logEverySteps(0);
            var e = assertThrows(IllegalArgumentException.class, () -> ClassificationTrainer.builder().model(clf)
                    .config(cfg.microBatchSize(4).build()).trainData(separable(6, 1)).build());
            assertTrue(e.getMessage().contains("no pad_token_id") && e.getMessage().contains("microBatchSize(1)"),
                    e.getMessage());
            TrainResult r = ClassificationTrainer.builder().model(clf).config(cfg.microBatchSize(1).build())
                    .trainData(separable(6, 1)).build().train();
            assertEquals(2, r.steps());
            assertTrue(r.lossHistory().stream().allMatch(Double::isFinite), r.lossHistory().toString());
        }
    }

    private static Map<String, float[]> values(Map<String, dev.finetune4j.core.tensor.Tensor> params) {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        params.forEach((n, t) -> out.put(n, t.toFloatArray()));
        return out;
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    private static double logSumExp(float[] x) {
        double max = x[argmax(x)];
        double s = 0;
        for (float v : x) {
            s += Math.exp(v - max);
        }
        return max + Math.log(s);
    }
}
