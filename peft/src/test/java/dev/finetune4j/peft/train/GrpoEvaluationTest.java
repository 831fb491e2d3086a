package dev.finetune4j.peft.train;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GRPO's evaluation on held-out prompts, on GrpoTrainerTest's tiny LLaMA: training with evaluations on is bit for bit
 * the run without them; each evaluation's rewards, lengths and loss equal a computation of this test's own (sampling
 * the validation prompts from the evaluation's seeds, scoring them, and TRL's DAPO loss at ratio 1 by hand); a resumed
 * run evaluates as the uninterrupted one; the best evaluation is the one with the highest mean reward. Two ranks
 * against one in {@link DataParallelTrainingTest}.
 */
class GrpoEvaluationTest {
    private static final GrpoConfig GRPO = GrpoConfig.builder().numGenerations(3).maxCompletionLength(5).build();
    /** Three prompts in micro-batches of two: one full batch and one of a single prompt. */
    private static final List<String> HELD_OUT = List.of("Why ", "Go: ", "No.");
    private static final long SEED = 11;

    @Test
    void evaluationLeavesTrainingAsItIsAndReportsTheScoresOfTheValidationCompletions() {
        Run plain;
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            plain = run(Peft.wrap(base, GrpoTrainerTest.lora()), config(4).build(), false, null);
        }
        List<Map<String, Double>> expected = new ArrayList<>();
        Run evaluated;
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            PeftModel model = Peft.wrap(base, GrpoTrainerTest.lora());
            evaluated = run(model, config(4).evalEverySteps(2).build(), true, () -> expected.add(reference(model)));
        }
        plain.weights().forEach((name, w) -> assertArrayEquals(w, evaluated.weights().get(name), name));
        assertEquals(plain.steps().size(), evaluated.steps().size());
        for (int s = 0; s < plain.steps().size(); s++) {
            assertEquals(plain.steps().get(s).loss(), evaluated.steps().get(s).loss(), "step " + (s + 1) + " loss");
            assertEquals(plain.steps().get(s).extra(), evaluated.steps().get(s).extra(), "step " + (s + 1) + " metrics");
        }
        List<EvalMetrics> evals = evaluated.result().evalHistory();
        assertEquals(List.of(2, 4), evals.stream().map(EvalMetrics::step).toList());
        for (int e = 0; e < evals.size(); e++) {
            Map<String, Double> actual = evals.get(e).extra();
            Map<String, Double> want = expected.get(e);
            for (String name : want.keySet().stream().filter(k -> !k.equals("loss")).toList()) {
                assertEquals(want.get(name), actual.get(name), 1e-9, "eval " + (e + 1) + " " + name);
            }
            assertEquals(want.get("loss"), evals.get(e).loss(), 1e-5, "eval " + (e + 1) + " loss");
            // no reference pass at beta 0, and the ratio is 1 in an evaluation: nothing is clipped
            assertFalse(actual.containsKey("kl"), actual.keySet().toString());
            assertEquals(0, actual.get("clip_ratio/region_mean"));
        }
        assertTrue(!evals.get(0).extra().equals(evals.get(1).extra()), "the policy moved between the evaluations");
    }

    @Test
    void aResumedRunEvaluatesAsTheUninterruptedOne(@TempDir Path tmp) {
        Run full;
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            full = run(Peft.wrap(base, GrpoTrainerTest.lora()), config(4).evalEverySteps(2).saveEverySteps(2)
                    .outputDir(tmp.resolve("full")).build(), true, null);
        }
        Run resumed;
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            // resumed in the same folder, as a user would, so that the best checkpoint can be an earlier one
            TrainingConfig cfg = config(4).evalEverySteps(2).saveEverySteps(2).outputDir(tmp.resolve("full")).build();
            PeftModel model = Peft.wrap(base, GrpoTrainerTest.lora());
            TrainResult result = trainer(model, cfg, true, new ArrayList<>(), null)
                    .resume(tmp.resolve("full").resolve(Checkpoints.PREFIX + 2));
            resumed = new Run(result, TrainTestSupport.weights(model), List.of());
        }
        assertEquals(full.result().evalHistory(), resumed.result().evalHistory(), "evaluations at steps 2 (restored) and 4");
        assertEquals(full.result().bestEvalLoss(), resumed.result().bestEvalLoss());
        assertEquals(full.result().bestCheckpoint(), resumed.result().bestCheckpoint());
    }

    @Test
    void theBestEvaluationHasTheHighestMeanRewardAndEarlyStoppingWaitsForOne() {
        // the learning rate of GrpoTrainerTest's rising reward: evaluations differ in reward and loss
        TrainingConfig cfg = config(8).learningRate(5e-2).evalEverySteps(2).build();
        Run run;
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            run = run(Peft.wrap(base, GrpoTrainerTest.lora()), cfg, true, null);
        }
        List<EvalMetrics> evals = run.result().evalHistory();
        double best = Double.NEGATIVE_INFINITY;
        EvalMetrics bestEval = null;
        for (EvalMetrics e : evals) {
            double reward = e.extra().get("reward");
            assertEquals(reward > best, e.improved(), "eval at step " + e.step() + ": rewards " + rewards(evals));
            if (reward > best) {
                best = reward;
                bestEval = e;
            }
        }
        assertEquals(bestEval.loss(), run.result().bestEvalLoss(), "the loss of the best-rewarded evaluation");
        assertTrue(evals.stream().anyMatch(e -> e.improved() != (e.loss() <= evals.stream().filter(o -> o.step() <= e.step())
                .mapToDouble(EvalMetrics::loss).min().orElseThrow())), "the losses rank the evaluations as the rewards "
                + "do, so this test would not tell the two apart: " + rewards(evals));

        // no reward can rise by more than 1 (a share of letters): the second evaluation stops the run
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            TrainResult stopped = run(Peft.wrap(base, GrpoTrainerTest.lora()), config(8).learningRate(5e-2)
                    .evalEverySteps(2).earlyStopping(1, 1.0).build(), true, null).result();
            assertEquals(StopReason.EARLY_STOPPING, stopped.stopReason());
            assertEquals(4, stopped.steps());
            assertEquals(evals.subList(0, 2).stream().map(e -> e.extra().get("reward")).toList(),
                    stopped.evalHistory().stream().map(e -> e.extra().get("reward")).toList());
        }
    }

    private static String rewards(List<EvalMetrics> evals) {
        return evals.stream().map(e -> "step " + e.step() + " reward " + e.extra().get("reward") + " loss " + e.loss())
                .toList().toString();
    }

    /**
     * What an evaluation of the model as it is should report, computed here: each validation batch (two prompts) of
     * three completions per prompt sampled from {@code Seeds.derive(seed, EVAL_SAMPLING, prompt, k)} in eval mode,
     * ended after the first EOS, scored with the reward function; the rewards' mean and unbiased standard deviation, the
     * lengths; and under key {@code loss} TRL's DAPO loss at ratio 1, {@code -Σ A_c len_c / Σ len_c}, with the
     * advantages {@code (r - group mean) / (group std + 1e-4)}.
     */
    private static Map<String, Double> reference(PeftModel model) {
        int g = GRPO.numGenerations();
        GenerationConfig generation = GenerationConfig.builder().maxNewTokens(GRPO.maxCompletionLength())
                .temperature((float) GRPO.temperature()).topP((float) GRPO.topP()).topK(GRPO.topK())
                .stopTokens(Set.of((long) ByteLevelTokenizer.EOS)).build();
        GrpoDataset prompts = GrpoDataset.fromTexts(HELD_OUT, GrpoTrainerTest.TOKENIZER);
        List<long[]> completions = new ArrayList<>();
        boolean training = model.base().isTraining();
        model.train(false);
        try {
            for (int[] batch : List.of(new int[] {0, 1}, new int[] {2})) {
                long[][] inputs = new long[batch.length * g][];
                long[] seeds = new long[inputs.length];
                for (int p = 0; p < batch.length; p++) {
                    for (int k = 0; k < g; k++) {
                        inputs[p * g + k] = prompts.get(batch[p]).prompt();
                        seeds[p * g + k] = Seeds.derive(SEED, Seeds.EVAL_SAMPLING, batch[p], k);
                    }
                }
                long[][] out = Generator.generate(model, inputs, generation, seeds);
                for (int i = 0; i < out.length; i++) {
                    long[] completion = Arrays.copyOfRange(out[i], inputs[i].length, out[i].length);
                    int eos = Arrays.stream(completion).boxed().toList().indexOf((long) ByteLevelTokenizer.EOS);
                    completions.add(eos < 0 ? completion : Arrays.copyOf(completion, eos + 1));
                }
            }
        } finally {
            model.train(training);
        }
        int n = completions.size();
        double[] rewards = new double[n];
        double[] lengths = new double[n];
        int clipped = 0;
        for (int c = 0; c < n; c++) {
            long[] completion = completions.get(c);
            rewards[c] = GrpoTrainerTest.LOWERCASE.score(HELD_OUT.get(c / g),
                    GrpoTrainerTest.TOKENIZER.decode(completion));
            lengths[c] = completion.length;
            clipped += completion[completion.length - 1] == ByteLevelTokenizer.EOS ? 0 : 1;
        }
        double weighted = 0;
        for (int start = 0; start < n; start += g) {
            double[] group = Arrays.copyOfRange(rewards, start, start + g);
            double mean = mean(group);
            double std = std(group);
            for (int c = start; c < start + g; c++) {
                weighted += (rewards[c] - mean) / (std + 1e-4) * lengths[c];
            }
        }
        return Map.of("reward", mean(rewards), "reward_std", std(rewards), "rewards/lowercase/mean", mean(rewards),
                "rewards/lowercase/std", std(rewards), "completions/mean_length", mean(lengths),
                "completions/max_length", Arrays.stream(lengths).max().orElseThrow(),
                "completions/min_length", Arrays.stream(lengths).min().orElseThrow(),
                "completions/clipped_ratio", (double) clipped / n, "loss", -weighted / Arrays.stream(lengths).sum());
    }

    private static double mean(double[] x) {
        return Arrays.stream(x).average().orElseThrow();
    }

    private static double std(double[] x) {
        double mean = mean(x);
        return Math.sqrt(Arrays.stream(x).map(v -> (v - mean) * (v - mean)).sum() / (x.length - 1));
    }

    private record Run(TrainResult result, Map<String, float[]> weights, List<StepMetrics> steps) {
    }

    private static Run run(PeftModel model, TrainingConfig cfg, boolean evaluate, Runnable onEvaluation) {
        List<StepMetrics> steps = new ArrayList<>();
        TrainResult result = trainer(model, cfg, evaluate, steps, onEvaluation).train();
        return new Run(result, TrainTestSupport.weights(model), steps);
    }

    private static GrpoTrainer trainer(PeftModel model, TrainingConfig cfg, boolean evaluate, List<StepMetrics> steps,
                                       Runnable onEvaluation) {
        GrpoTrainer.Builder b = GrpoTrainer.builder().model(model).tokenizer(GrpoTrainerTest.TOKENIZER).config(cfg)
                .grpo(GRPO).reward(GrpoTrainerTest.LOWERCASE).trainData(GrpoTrainerTest.PROMPTS)
                .listener(new TrainingListener() {
                    @Override
                    public void onStep(StepMetrics m) {
                        steps.add(m);
                    }

                    @Override
                    public void onEvaluation(EvalMetrics m) {
                        if (onEvaluation != null) {
                            onEvaluation.run();
                        }
                    }
                });
        return evaluate ? b.evalData(GrpoDataset.fromTexts(HELD_OUT, GrpoTrainerTest.TOKENIZER)).build() : b.build();
    }

    private static TrainingConfig.Builder config(int steps) {
        return TrainingConfig.builder().maxSteps(steps).microBatchSize(2).learningRate(1e-2).schedule(Schedule.CONSTANT)
                .seed(SEED).logEverySteps(0);
    }
}
