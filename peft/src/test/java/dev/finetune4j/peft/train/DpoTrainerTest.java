package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DPO raises the chosen-over-rejected margin on a toy preference set, and its reference is the policy as it was
 * when the trainer was built (after SFT: the SFT model), not the base model.
 */
class DpoTrainerTest {

    @Test
    void trainingRaisesTheMarginOverThePolicyItStartedFrom() {
        PreferenceDataset data = toyPairs();
        List<StepMetrics> steps = new ArrayList<>();
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"))) {
            // a trained adapter (the fixture's SFT result): the base with the adapter off is NOT the starting policy
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_final"));
            List<DpoTrainer.ResponseLogProbs> start = DpoTrainer.responseLogProbs(model, data, 0);
            List<DpoTrainer.ResponseLogProbs> baseModel;
            try (var off = model.disableAdapter()) {
                baseModel = DpoTrainer.responseLogProbs(model, data, 0);
            }
            assertTrue(meanMargin(DpoTrainer.PairLogProbs.of(start, baseModel)) != 0, "the SFT adapter must differ from the base");
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(40).microBatchSize(4).learningRate(5e-3)
                    .schedule(Schedule.CONSTANT).shuffle(true).seed(3).logEverySteps(10).build();
            DpoTrainer.builder().model(model).config(cfg).dpo(DpoConfig.sigmoid(0.1)).trainData(data)
                    .listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            steps.add(m);
                        }
                    }).build().train();
            List<DpoTrainer.PairLogProbs> after = DpoTrainer.PairLogProbs.of(DpoTrainer.responseLogProbs(model, data, 0), start);
            System.out.printf("DPO margin %.4f, accuracy %.2f, loss %.4f -> %.4f%n", meanMargin(after),
                    steps.getLast().extra().get("rewards/accuracies"), steps.getFirst().loss(), steps.getLast().loss());
            // the first step's forward runs before any update: policy = reference, so every reward is 0, loss log 2
            assertEquals(0, steps.getFirst().extra().get("rewards/margins"), 1e-5, "first-step margin against the start");
            assertEquals(Math.log(2), steps.getFirst().loss(), 1e-5);
            assertTrue(meanMargin(after) > 0.5, "margin " + meanMargin(after));
            assertTrue(steps.getLast().loss() < steps.getFirst().loss());
        }
    }

    /** Eight pairs of random tokens: a 4-token prompt and two 3-token responses. */
    static PreferenceDataset toyPairs() {
        SplittableRandom random = new SplittableRandom(9);
        List<PreferenceExample> pairs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            pairs.add(new PreferenceExample(random.longs(4, 0, 256).toArray(), random.longs(3, 0, 256).toArray(),
                    random.longs(3, 0, 256).toArray()));
        }
        return PreferenceDataset.of(pairs);
    }

    private static double meanMargin(List<DpoTrainer.PairLogProbs> pairs) {
        return pairs.stream().mapToDouble(p -> p.rewardMargin(0.1)).average().orElseThrow();
    }
}
