package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GRPO with {@code numIterations} μ = 2 on GrpoTrainerTest's tiny LLaMA: one generation (sampling and scoring) serves
 * two optimizer steps on the same prompts, an epoch takes twice the steps, the reused step reports its clipping but
 * not the generation's rewards, and a run resumed from a checkpoint between a generation's steps ends bit for bit
 * where the uninterrupted run ends (a resume that cannot is refused). The second step's loss itself is checked against torch in {@link GrpoFixtureTest};
 * two ranks against one in {@link DataParallelTrainingTest}.
 */
class GrpoIterationsTest {
    private static final GrpoConfig TWO_ITERATIONS = GrpoConfig.builder().numGenerations(3).maxCompletionLength(5)
            .beta(0.05).epsilon(0.01).numIterations(2).build();

    @Test
    void oneGenerationServesTwoStepsAndAnEpochTakesTwiceTheSteps() {
        Map<String, Integer> scored = new ConcurrentHashMap<>(); // prompt -> completions scored
        RewardFunction counting = RewardFunction.named("lowercase", (prompt, completion) -> {
            scored.merge(prompt, 1, Integer::sum);
            return GrpoTrainerTest.LOWERCASE.score(prompt, completion);
        });
        List<StepMetrics> steps = new ArrayList<>();
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            TrainResult result = trainer(Peft.wrap(base, GrpoTrainerTest.lora()), epoch().build(), counting, steps)
                    .train();
            // 4 prompts, 2 per step: 2 generations, each trained on in 2 steps
            assertEquals(4, result.lossHistory().size());
            assertEquals(0, result.skippedSteps());
        }
        // each prompt's group was sampled and scored once in the epoch, not once per step
        assertEquals(4, scored.size(), scored.toString());
        scored.forEach((prompt, n) -> assertEquals(3, n, "completions of '" + prompt + "' scored"));
        assertEquals(0.5, steps.get(1).epoch(), 1e-12, "half the epoch's prompts after the first generation's 2 steps");
        assertEquals(1.0, steps.get(3).epoch(), 1e-12);
        for (int s = 0; s < steps.size(); s++) {
            Map<String, Double> extra = steps.get(s).extra();
            boolean generated = s % 2 == 0;
            assertEquals(generated, extra.containsKey("reward"), "step " + (s + 1) + ": " + extra.keySet());
            assertEquals(generated, extra.containsKey("completions/mean_length"), "step " + (s + 1));
            double clipped = extra.get("clip_ratio/region_mean");
            // the generating step's ratio is 1 (the old policy is the model as it is); the reused step's moved on
            assertTrue(generated ? clipped == 0 : clipped > 0, "step " + (s + 1) + " clip_ratio/region_mean " + clipped);
        }
    }

    @Test
    void aRunResumedBetweenAGenerationsStepsEndsWhereTheUninterruptedRunEnds(@TempDir Path tmp) {
        List<StepMetrics> full = new ArrayList<>();
        Map<String, float[]> fullWeights;
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            PeftModel model = Peft.wrap(base, GrpoTrainerTest.lora());
            trainer(model, steps(6).saveEverySteps(1).outputDir(tmp.resolve("full")).build(), GrpoTrainerTest.LOWERCASE,
                    full).train();
            fullWeights = TrainTestSupport.weights(model);
        }
        Path between = tmp.resolve("full").resolve(Checkpoints.PREFIX + 3);
        assertTrue(Files.isRegularFile(between.resolve(Checkpoints.PREPARED_WEIGHTS)), "step 3 is between 3 and 4");
        assertFalse(Files.exists(tmp.resolve("full").resolve(Checkpoints.PREFIX + 4).resolve(Checkpoints.PREPARED_WEIGHTS)),
                "step 4 ends a generation: nothing to make again");

        List<StepMetrics> resumed = new ArrayList<>();
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            PeftModel model = Peft.wrap(base, GrpoTrainerTest.lora());
            TrainResult result = trainer(model, steps(6).saveEverySteps(1).outputDir(tmp.resolve("resumed")).build(),
                    GrpoTrainerTest.LOWERCASE, resumed).resume(between);
            assertEquals(6, result.lossHistory().size());
            Map<String, float[]> weights = TrainTestSupport.weights(model);
            fullWeights.forEach((name, w) -> assertArrayEquals(w, weights.get(name), "resumed " + name));
        }
        assertEquals(3, resumed.size());
        for (int s = 0; s < 3; s++) {
            assertEquals(full.get(s + 3).loss(), resumed.get(s).loss(), "step " + (s + 4) + " loss after the resume");
            assertEquals(full.get(s + 3).extra(), resumed.get(s).extra(), "step " + (s + 4) + " metrics after the resume");
        }
    }

    @Test
    void aResumeThatCannotMakeTheGenerationAgainIsRefused(@TempDir Path tmp) throws Exception {
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            trainer(Peft.wrap(base, GrpoTrainerTest.lora()), steps(3).saveEverySteps(3).outputDir(tmp.resolve("run"))
                    .build(), GrpoTrainerTest.LOWERCASE, new ArrayList<>()).train();
        }
        Path checkpoint = tmp.resolve("run").resolve(Checkpoints.PREFIX + 3);
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            GrpoTrainer oneIteration = GrpoTrainer.builder().model(Peft.wrap(base, GrpoTrainerTest.lora()))
                    .tokenizer(GrpoTrainerTest.TOKENIZER).config(steps(6).build())
                    .grpo(GrpoConfig.builder().numGenerations(3).maxCompletionLength(5).build())
                    .reward(GrpoTrainerTest.LOWERCASE).trainData(GrpoTrainerTest.PROMPTS).build();
            var other = assertThrows(IllegalArgumentException.class, () -> oneIteration.resume(checkpoint));
            assertTrue(other.getMessage().contains("the steps each generation serves (GRPO numIterations) was 2 and is "
                    + "now 1"), other.getMessage());
        }
        Files.delete(checkpoint.resolve(Checkpoints.PREPARED_WEIGHTS));
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            GrpoTrainer trainer = trainer(Peft.wrap(base, GrpoTrainerTest.lora()), steps(6).build(),
                    GrpoTrainerTest.LOWERCASE, new ArrayList<>());
            var incomplete = assertThrows(IllegalArgumentException.class, () -> trainer.resume(checkpoint));
            assertTrue(incomplete.getMessage().contains("has no " + Checkpoints.PREPARED_WEIGHTS), incomplete.getMessage());
        }
    }

    private static GrpoTrainer trainer(PeftModel model, TrainingConfig cfg, RewardFunction reward, List<StepMetrics> steps) {
        return GrpoTrainer.builder().model(model).tokenizer(GrpoTrainerTest.TOKENIZER).config(cfg).grpo(TWO_ITERATIONS)
                .reward(reward).trainData(GrpoTrainerTest.PROMPTS).listener(new TrainingListener() {
                    @Override
                    public void onStep(StepMetrics m) {
                        steps.add(m);
                    }
                }).build();
    }

    /** One epoch over the four prompts, two per step; a learning rate that moves the ratio past epsilon. */
    private static TrainingConfig.Builder epoch() {
        return TrainingConfig.builder().epochs(1).microBatchSize(2).learningRate(5e-2).schedule(Schedule.CONSTANT)
                .seed(7).logEverySteps(0);
    }

    private static TrainingConfig.Builder steps(int steps) {
        return epoch().maxSteps(steps);
    }
}
