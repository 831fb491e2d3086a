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

/** DPO raises the chosen-over-rejected margin on a toy preference set; the reference stays the base model. */
class DpoTrainerTest {

    @Test
    void trainingRaisesTheMargin() {
        SplittableRandom random = new SplittableRandom(9);
        List<PreferenceExample> pairs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            pairs.add(new PreferenceExample(random.longs(4, 0, 256).toArray(), random.longs(3, 0, 256).toArray(),
                    random.longs(3, 0, 256).toArray()));
        }
        PreferenceDataset data = PreferenceDataset.of(pairs);
        List<StepMetrics> steps = new ArrayList<>();
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"))) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_init"));
            double before = meanMargin(DpoTrainer.logProbs(model, data, 0));
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(40).microBatchSize(4).learningRate(5e-3)
                    .schedule(Schedule.CONSTANT).shuffle(true).seed(3).logEverySteps(10).build();
            DpoTrainer.builder().model(model).config(cfg).dpo(DpoConfig.sigmoid(0.1)).trainData(data)
                    .listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            steps.add(m);
                        }
                    }).build().train();
            List<DpoTrainer.PairLogProbs> after = DpoTrainer.logProbs(model, data, 0);
            System.out.printf("DPO margin %.4f -> %.4f, accuracy %.2f, loss %.4f -> %.4f%n", before, meanMargin(after),
                    steps.getLast().extra().get("rewards/accuracy"), steps.getFirst().loss(), steps.getLast().loss());
            assertEquals(0, before, 1e-4, "B starts at zero: policy equals reference");
            assertTrue(meanMargin(after) > 0.5, "margin " + meanMargin(after));
            assertTrue(steps.getLast().loss() < steps.getFirst().loss());
            assertTrue(steps.getLast().extra().containsKey("rewards/margins"));
        }
    }

    private static double meanMargin(List<DpoTrainer.PairLogProbs> pairs) {
        return pairs.stream().mapToDouble(p -> p.rewardMargin(0.1)).average().orElseThrow();
    }
}
