package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ORPO and SimPO through the training loop on the llama fixture's SFT adapter: training widens the margin between
 * the chosen and rejected responses' average log-probabilities (ORPO also lowers the chosen NLL); with gradient
 * accumulation a step's loss is the pair-weighted mean of its micro-batches' TRL losses.
 */
class ReferenceFreeTrainerTest {

    @ParameterizedTest
    @ValueSource(strings = {"orpo", "simpo"})
    void trainingWidensTheMargin(String method) {
        // SimPO as published (no NLL), with the paper's scale of beta; ORPO at a lambda that weighs the preference
        ReferenceFreeConfig loss = method.equals("orpo") ? new OrpoConfig(1.0) : new SimpoConfig(2.5, 1.25, 0, 0);
        List<StepMetrics> steps = new ArrayList<>();
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_final"));
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(30).microBatchSize(8).learningRate(5e-3)
                    .schedule(Schedule.CONSTANT).shuffle(false).seed(3).logEverySteps(0).build();
            ReferenceFreeTrainer.builder().model(model).config(cfg).loss(loss).trainData(toyPairs())
                    .listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            steps.add(m);
                        }
                    }).build().train();
        }
        StepMetrics first = steps.getFirst();
        StepMetrics last = steps.getLast();
        double marginBefore = first.extra().get("logps/chosen") - first.extra().get("logps/rejected");
        double marginAfter = last.extra().get("logps/chosen") - last.extra().get("logps/rejected");
        System.out.printf("%s: loss %.4f -> %.4f, average log-prob margin %.4f -> %.4f, accuracy %.2f -> %.2f%n",
                method, first.loss(), last.loss(), marginBefore, marginAfter, first.extra().get("rewards/accuracies"),
                last.extra().get("rewards/accuracies"));
        assertEquals(loss.beta() * marginBefore, first.extra().get("rewards/margins"), 1e-5, "rewards are beta x logps");
        assertTrue(last.loss() < 0.9 * first.loss(), method + " loss " + first.loss() + " -> " + last.loss());
        assertTrue(marginAfter > marginBefore + 0.5, method + " margin " + marginBefore + " -> " + marginAfter);
        assertEquals(1.0, last.extra().get("rewards/accuracies"), method + ": every pair ranked right after training");
        if (loss instanceof OrpoConfig) {
            assertTrue(last.extra().get("nll_loss") < first.extra().get("nll_loss"), "ORPO's chosen NLL must fall");
        }
    }

    /**
     * Six pairs in micro-batches of 4 and 2, accumulated into one step: its loss is (4 L(pairs 0-3) + 2 L(pairs 4-5)) / 6,
     * each L TRL's loss of that micro-batch (the step's loss is computed before its update).
     */
    @ParameterizedTest
    @ValueSource(strings = {"orpo", "simpo"})
    void accumulatedStepIsThePairWeightedMeanOfTrlLosses(String method) {
        ReferenceFreeConfig loss = method.equals("orpo") ? OrpoConfig.defaults() : SimpoConfig.defaults();
        PreferenceDataset data = PreferenceDataset.of(toyPairsList().subList(0, 6));
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_final"));
            model.train(false);
            ReferenceFreeObjective objective = new ReferenceFreeObjective(model, data, loss, 0);
            double firstFour = trlLoss(objective, 0, 1, 2, 3);
            double lastTwo = trlLoss(objective, 4, 5);
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(1).microBatchSize(4).gradientAccumulationSteps(2)
                    .learningRate(1e-3).shuffle(false).logEverySteps(0).build();
            double step = ReferenceFreeTrainer.builder().model(model).config(cfg).loss(loss).trainData(data).build()
                    .train().lossHistory().getFirst();
            assertEquals((4 * firstFour + 2 * lastTwo) / 6, step, 1e-5, method + " accumulated step");
            assertTrue(Math.abs(firstFour - lastTwo) > 1e-3, "micro-batches of different losses, else any mean passes");
        }
    }

    @Test
    void builderNamesTheMissingLoss() {
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_final"));
            var builder = ReferenceFreeTrainer.builder().model(model).config(TrainingConfig.builder().maxSteps(1).build())
                    .trainData(toyPairs());
            assertTrue(assertThrows(IllegalStateException.class, builder::build).getMessage()
                    .contains("loss(...) is required: OrpoConfig.defaults() (ORPO) or SimpoConfig.defaults() (SimPO)"));
        }
    }

    private static double trlLoss(ReferenceFreeObjective objective, int... pairs) {
        try (var scope = TensorScope.open()) {
            return objective.lossSum(pairs).sum().toFloatArray()[0] / pairs.length;
        }
    }

    private static PreferenceDataset toyPairs() {
        return PreferenceDataset.of(toyPairsList());
    }

    private static List<PreferenceExample> toyPairsList() {
        SplittableRandom random = new SplittableRandom(9);
        List<PreferenceExample> pairs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            pairs.add(new PreferenceExample(random.longs(4, 0, 256).toArray(), random.longs(3 + i % 2, 0, 256).toArray(),
                    random.longs(3, 0, 256).toArray()));
        }
        return pairs;
    }
}
