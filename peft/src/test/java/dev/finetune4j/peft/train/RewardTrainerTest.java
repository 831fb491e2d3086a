package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link RewardTrainer} on ClassificationTrainerTest's tiny random Qwen2 with one label: pairs whose chosen responses
 * use ids 12-23 and rejected ones ids 24-31 after prompts of ids 1-11; the loss and metrics against a hand computation
 * from the model's own scores, gradients against finite differences, every PEFT method a classifier takes.
 */
class RewardTrainerTest {
    private static final int PAD = 0;

    /** {@code n} pairs: a prompt of 2-4 ids in [1, 12), a chosen response of 1-4 ids in [12, 24), a rejected one in [24, 32). */
    static PreferenceDataset rankable(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<PreferenceExample> pairs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pairs.add(new PreferenceExample(random.longs(2 + random.nextInt(3), 1, 12).toArray(),
                    random.longs(1 + random.nextInt(4), 12, 24).toArray(),
                    random.longs(1 + random.nextInt(4), 24, 32).toArray()));
        }
        return PreferenceDataset.of(pairs);
    }

    private static LoraConfig lora() {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj").loraDropout(0).build();
    }

    /** The score of one sequence, alone (no padding). */
    private static double reward(PeftClassifier rm, long[] ids) {
        return rm.logits(new long[][]{ids}, null)[0][0];
    }

    @Test
    void lossSumIsBradleyTerryWithTheCentringTermAndMetricsAreSums() {
        try (var base = ClassificationTrainerTest.tinyQwen(List.of("reward"))) {
            PeftClassifier rm = Peft.wrap(base, lora());
            PreferenceDataset pairs = rankable(5, 9);
            int[] all = IntStream.range(0, pairs.size()).toArray();
            for (double c : new double[]{0, 0.25}) {
                double loss = 0;
                double margins = 0;
                int ranked = 0;
                for (int i = 0; i < pairs.size(); i++) {
                    double chosen = reward(rm, pairs.get(i).sequence(true).inputIds());
                    double rejected = reward(rm, pairs.get(i).sequence(false).inputIds());
                    loss += Math.log1p(Math.exp(-(chosen - rejected))) + c * (chosen + rejected) * (chosen + rejected);
                    margins += chosen - rejected;
                    ranked += chosen > rejected ? 1 : 0;
                }
                try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
                    Objective.Loss sums = new RewardObjective(rm, pairs, new RewardConfig(c), PAD).lossSum(all);
                    assertEquals(loss, sums.sum().getFlat(0), 1e-4, "c = " + c);
                    Map<String, Tensor> metrics = sums.metricSums();
                    assertEquals(margins, metrics.get("rewards/margins").getFlat(0), 1e-4);
                    assertEquals(ranked, metrics.get("rewards/accuracies").getFlat(0));
                }
            }
        }
    }

    /** TRL's margin column: each pair loses -log σ(r_chosen - r_rejected - m); the metrics stay the raw scores'. */
    @Test
    void marginsShiftEachPairsLoss() {
        try (var base = ClassificationTrainerTest.tinyQwen(List.of("reward"))) {
            PeftClassifier rm = Peft.wrap(base, lora());
            List<PreferenceExample> graded = new ArrayList<>();
            PreferenceDataset pairs = rankable(4, 3);
            for (int i = 0; i < pairs.size(); i++) {
                PreferenceExample p = pairs.get(i);
                graded.add(new PreferenceExample(p.prompt(), p.chosen(), p.rejected(), 1.5 * i - 1));
            }
            double loss = 0;
            int ranked = 0;
            for (PreferenceExample p : graded) {
                double diff = reward(rm, p.sequence(true).inputIds()) - reward(rm, p.sequence(false).inputIds());
                loss += Math.log1p(Math.exp(-(diff - p.margin())));
                ranked += diff > 0 ? 1 : 0;
            }
            try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
                Objective.Loss sums = new RewardObjective(rm, PreferenceDataset.of(graded), new RewardConfig(0), PAD)
                        .lossSum(IntStream.range(0, graded.size()).toArray());
                assertEquals(loss, sums.sum().getFlat(0), 1e-4);
                assertEquals(ranked, sums.metricSums().get("rewards/accuracies").getFlat(0));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new PreferenceExample(new long[]{1}, new long[]{2},
                new long[]{3}, Double.NaN));
    }

    @Test
    void learnsToRankAndReportsTheHeldOutAccuracy() {
        try (var base = ClassificationTrainerTest.tinyQwen(List.of("reward"))) {
            PeftClassifier rm = Peft.wrap(base, lora());
            PreferenceDataset heldOut = rankable(16, 2);
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(20).microBatchSize(4).learningRate(1e-2).seed(3)
                    .evalEverySteps(20).logEverySteps(0).build();
            TrainResult result = RewardTrainer.builder().model(rm).config(cfg).trainData(rankable(32, 1))
                    .evalData(heldOut).build().train();
            List<Double> losses = result.lossHistory();
            assertTrue(losses.subList(17, 20).stream().mapToDouble(d -> d).sum()
                    < 0.5 * losses.subList(0, 3).stream().mapToDouble(d -> d).sum(), "loss " + losses);
            int ranked = 0;
            for (int i = 0; i < heldOut.size(); i++) {
                ranked += reward(rm, heldOut.get(i).sequence(true).inputIds())
                        > reward(rm, heldOut.get(i).sequence(false).inputIds()) ? 1 : 0;
            }
            assertEquals(heldOut.size(), ranked, "every held-out pair ranked right");
            assertEquals(1.0, result.evalHistory().getLast().extra().get("rewards/accuracies"), 1e-12);
        }
    }

    /** Each method a classifier takes trains the reward model, and its gradients agree with finite differences. */
    @ParameterizedTest
    @EnumSource(ClassificationTrainerTest.Method.class)
    void everyMethodTrainsWithTrueGradients(ClassificationTrainerTest.Method method) {
        try (var base = ClassificationTrainerTest.tinyQwen(List.of("reward"))) {
            PeftClassifier rm = method.wrap.apply(base);
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(8).microBatchSize(4).learningRate(1e-2)
                    .shuffle(false).seed(1).logEverySteps(0).build();
            List<Double> losses = RewardTrainer.builder().model(rm).config(cfg).trainData(rankable(8, 4))
                    .build().train().lossHistory();
            // two steps per epoch: the first epoch against the last
            assertTrue(losses.get(6) + losses.get(7) < 0.9 * (losses.get(0) + losses.get(1)), method + ": " + losses);
            EveryMethodTrainsTest.assertGradientsMatchFiniteDifferences(method.name(),
                    method == ClassificationTrainerTest.Method.DORA, TrainedModel.of(rm),
                    new RewardObjective(rm, rankable(4, 5), new RewardConfig(0.1), PAD));
        }
    }

    @Test
    void refusesAClassifierOfSeveralLabelsAndBadCoefficients() {
        try (var base = ClassificationTrainerTest.tinyQwen(List.of("a", "b"))) {
            PeftClassifier clf = Peft.wrap(base, lora());
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(1).microBatchSize(2).logEverySteps(0).build();
            var e = assertThrows(IllegalArgumentException.class, () -> RewardTrainer.builder().model(clf).config(cfg)
                    .trainData(rankable(2, 1)).build());
            assertTrue(e.getMessage().contains("has 2 labels") && e.getMessage().contains("num_labels 1"), e.getMessage());
        }
        for (double bad : new double[]{-0.1, Double.NaN, Double.POSITIVE_INFINITY}) {
            var e = assertThrows(IllegalArgumentException.class, () -> new RewardConfig(bad));
            assertTrue(e.getMessage().contains("center_rewards_coefficient"), e.getMessage());
        }
    }
}
