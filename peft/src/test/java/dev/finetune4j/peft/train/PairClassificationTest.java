package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.serve.ServeFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sentence pairs through a BERT LoRA classifier (core's references/bert_pair_cls, made by transformers 5.17 with token
 * types 0 and 1): the batch carries the pairs' type ids to the model, the head's and LoRA's gradients follow from the
 * reference's, and a pair task trains end to end from text pairs tokenized with BERT's pair template.
 */
class PairClassificationTest {
    private static final double TOLERANCE = 1e-4;

    /**
     * At LoRA's start (B = 0) the classifier is the reference's model: the loss of the reference's pair batch is its
     * loss, the head's gradient its gradient, and lora_B's gradient on layer 0's query is scaling * dW A^T, with dW the
     * reference's gradient of that weight.
     */
    @Test
    void loraGradientsOnPairsFollowFromTransformersGradients() throws Exception {
        Path folder = ServeFixtures.model("references/bert_pair_cls");
        try (var base = AutoModel.loadSequenceClassifier(folder); var ref = SafetensorsCheckpoint.open(folder.resolve(
                "reference.safetensors")); var scope = TensorScope.open()) {
            PeftClassifier clf = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).build());
            long[][] ids = rows(ref, "input_ids");
            long[][] mask = rows(ref, "attention_mask");
            long[][] types = rows(ref, "token_type_ids");
            long[] labels = ref.tensor("labels").toLongArray();
            List<ClassificationExample> examples = new ArrayList<>();
            for (int r = 0; r < ids.length; r++) {
                int real = (int) Arrays.stream(mask[r]).sum(); // right padding only
                examples.add(new ClassificationExample(Arrays.copyOf(ids[r], real), Arrays.copyOf(types[r], real),
                        new float[]{labels[r]}));
            }
            ClassificationBatch batch = ClassificationBatch.of(examples, 0, clf);
            assertArrayEquals(types, batch.tokenTypeIds(), "the padded batch's types are the reference's");
            Tensor loss = CrossEntropy.loss(batch.forward(clf), Arrays.stream(labels).mapToInt(Math::toIntExact).toArray());
            assertEquals(ref.tensor("loss").toFloatArray()[0], loss.toFloatArray()[0], TOLERANCE, "loss");
            Autograd.backward(loss);
            Map<String, Tensor> trainable = clf.trainableParameters();
            assertClose(ref.tensor("grad.classifier.weight").toFloatArray(), named(trainable, "classifier.weight").grad()
                    .toFloatArray(), "classifier.weight");
            float[] dW = ref.tensor("grad.bert.encoder.layer.0.attention.self.query.weight").toFloatArray();
            float[] a = named(trainable, "layer.0.attention.self.query.lora_A.weight").toFloatArray();
            int rank = 4;
            int width = dW.length / 32;
            float[] expected = new float[32 * rank];
            for (int o = 0; o < 32; o++) {
                for (int k = 0; k < rank; k++) {
                    double sum = 0;
                    for (int i = 0; i < width; i++) {
                        sum += (double) dW[o * width + i] * a[k * width + i];
                    }
                    expected[o * rank + k] = (float) (2.0 * sum); // scaling = lora_alpha / r = 2
                }
            }
            assertClose(expected, named(trainable, "layer.0.attention.self.query.lora_B.weight").grad().toFloatArray(),
                    "lora_B of layer 0's query");
        }
    }

    /**
     * Pairs of a request and its topic from text (the label: whether the topic is one of billing's words): the loss
     * falls, and the pairs' token types move the trained classifier's logits.
     */
    @Test
    void aBertLoraClassifierTrainsOnTextPairs(@TempDir Path tmp) throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(tokenizer(tmp));
             var base = AutoModel.loadSequenceClassifier(ServeFixtures.model("references/bert_pair_cls"))) {
            ClassificationDataset data = topicPairs(tok);
            assertEquals(1L, data.get(0).tokenTypeIds()[data.get(0).length() - 1], "the second text's [SEP] is of type 1");
            PeftClassifier clf = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).build());
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(24).microBatchSize(8).learningRate(2e-2)
                    .schedule(Schedule.CONSTANT).shuffle(false).seed(1).logEverySteps(0).build();
            List<Double> losses = ClassificationTrainer.builder().model(clf).config(cfg).trainData(data).build().train()
                    .lossHistory();
            double first = losses.get(0) + losses.get(1) + losses.get(2);
            double last = losses.get(21) + losses.get(22) + losses.get(23);
            assertTrue(last < 0.6 * first, "loss " + losses);
            ClassificationBatch batch = ClassificationBatch.of(data.examples().subList(0, 4), 0, clf);
            float[][] typed = batch.logits(clf);
            float[][] untyped = clf.logits(batch.padded().inputIds(), batch.padded().attentionMask());
            assertTrue(Math.abs(typed[0][0] - untyped[0][0]) > 1e-3, "the types move the logits");
        }
    }

    /**
     * TrainingConfig's gradient checkpointing on the encoder classifier, in training mode with the model's dropouts
     * (0.1 each) and LoRA's: the recompute redraws each layer's masks, so the trained weights are those of a run without
     * it, bit for bit.
     */
    @Test
    void gradientCheckpointingTrainsTheEncoderToTheSameWeights(@TempDir Path tmp) throws Exception {
        Map<String, float[]> plain = null;
        for (boolean checkpointing : List.of(false, true)) {
            try (HfTokenizer tok = HfTokenizer.load(tokenizer(tmp.resolve(String.valueOf(checkpointing))));
                 var base = AutoModel.loadSequenceClassifier(ServeFixtures.model("references/bert_pair_cls"))) {
                PeftClassifier clf = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0.1).build());
                TrainingConfig cfg = TrainingConfig.builder().maxSteps(3).microBatchSize(8).learningRate(1e-2).seed(1)
                        .gradientCheckpointing(checkpointing).logEverySteps(0).build();
                ClassificationTrainer.builder().model(clf).config(cfg).trainData(topicPairs(tok)).build().train();
                Map<String, float[]> trained = new TreeMap<>();
                clf.trainableParameters().forEach((name, t) -> trained.put(name, t.toFloatArray()));
                if (plain == null) {
                    plain = trained;
                } else {
                    assertEquals(plain.keySet(), trained.keySet());
                    plain.forEach((name, v) -> assertArrayEquals(v, trained.get(name), name + " with gradient checkpointing"));
                }
            }
        }
    }

    /** 24 pairs of a request and its topic, labelled 1 when the topic is "refund" or "bill". */
    private static ClassificationDataset topicPairs(HfTokenizer tok) {
        List<String> words = List.of("refund", "bill", "help", "wrong", "please", "cafe");
        List<String> premises = new ArrayList<>();
        List<String> hypotheses = new ArrayList<>();
        float[][] labels = new float[24][];
        for (int i = 0; i < labels.length; i++) {
            String topic = words.get(i % words.size());
            premises.add("my " + words.get((i / words.size() + i + 1) % words.size()) + " is " + topic);
            hypotheses.add(topic);
            labels[i] = new float[]{i % words.size() < 2 ? 1 : 0};
        }
        return ClassificationDataset.fromTextPairs(premises, hypotheses, labels, tok, 16);
    }

    private static long[][] rows(SafetensorsCheckpoint ref, String name) {
        Tensor t = ref.tensor(name);
        long[] flat = t.toLongArray();
        long[][] out = new long[t.dim(0)][];
        for (int r = 0; r < out.length; r++) {
            out[r] = Arrays.copyOfRange(flat, r * t.dim(1), (r + 1) * t.dim(1));
        }
        return out;
    }

    private static Tensor named(Map<String, Tensor> trainable, String suffix) {
        return trainable.entrySet().stream().filter(e -> e.getKey().endsWith(suffix)).map(Map.Entry::getValue)
                .findFirst().orElseThrow(() -> new AssertionError("no trainable " + suffix + " in " + trainable.keySet()));
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst < TOLERANCE, what + ": largest difference " + worst);
    }

    private static Path tokenizer(Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("bert-wordpiece"));
        for (String file : List.of("tokenizer.json", "tokenizer_config.json")) {
            try (InputStream in = PairClassificationTest.class.getResourceAsStream("/tokenizer/bert-wordpiece/" + file)) {
                Files.copy(in, dir.resolve(file));
            }
        }
        return dir;
    }
}
