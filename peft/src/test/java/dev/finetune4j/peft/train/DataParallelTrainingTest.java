package dev.finetune4j.peft.train;

import dev.finetune4j.core.distributed.Collective;
import dev.finetune4j.core.distributed.CollectiveException;
import dev.finetune4j.core.distributed.LocalCollective;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Data-parallel training over ranks that are threads of one JVM ({@link LocalCollective}), each with its own replica
 * of the llama fixture: a run of {@code W} ranks with accumulation {@code A} is a single run with accumulation
 * {@code W * A}, the replicas stay equal, and failures, interrupts and checkpoints involve every rank.
 */
class DataParallelTrainingTest {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    /** What one rank ran: its result, its final adapter weights and its step metrics. */
    private record Rank(TrainResult result, Map<String, float[]> weights, List<StepMetrics> steps) {
    }

    @Test
    void twoRanksEqualOneRankWithTwiceTheAccumulationBitForBit() {
        Rank single = train(Collective.single(), config(2).build(), TrainingChild.data(), null);
        List<Rank> ranks = LocalCollective.runOnThreads(2, TIMEOUT,
                rank -> train(rank, config(1).build(), TrainingChild.data(), null));
        // one rank's single micro-batch gradient, summed in rank order, is (0 + g0) + g1 as the accumulation adds it
        for (Rank rank : ranks) {
            assertEquals(single.weights().keySet(), rank.weights().keySet());
            single.weights().forEach((name, w) -> assertArrayEquals(w, rank.weights().get(name), name));
            assertEquals(single.result().gradNormHistory(), rank.result().gradNormHistory());
            assertLossesClose(single.result().lossHistory(), rank.result().lossHistory(), 1e-6);
        }
        assertEquals(3, ranks.getFirst().result().steps(), "16 examples in micro-batches of 3: 6 per epoch, 2 per step");
    }

    @Test
    void aRankWithoutMicroBatchesInTheLastStepStillSumsAndTheReplicasStayEqual() {
        // 6 micro-batches per epoch, 4 per step: the second step of each epoch has two, both on rank 0
        Rank single = train(Collective.single(), config(4).epochs(2).build(), TrainingChild.data(), null);
        List<Rank> ranks = LocalCollective.runOnThreads(2, TIMEOUT,
                rank -> train(rank, config(2).epochs(2).build(), TrainingChild.data(), null));
        assertEquals(4, ranks.getFirst().result().steps());
        ranks.getFirst().weights().forEach((name, w) -> assertArrayEquals(w, ranks.get(1).weights().get(name), name));
        assertLossesClose(single.result().lossHistory(), ranks.getFirst().result().lossHistory(), 1e-5);
        single.weights().forEach((name, w) -> {
            float[] dp = ranks.getFirst().weights().get(name);
            for (int i = 0; i < w.length; i++) {
                assertEquals(w[i], dp[i], 1e-5 + 1e-4 * Math.abs(w[i]), name + "[" + i + "]");
            }
        });
    }

    @Test
    void dpoMetricsAreTheSumsOverTheRanks() {
        PreferenceDataset pairs = DpoTrainerTest.toyPairs();
        Rank single = dpo(Collective.single(), 2, pairs);
        List<Rank> ranks = LocalCollective.runOnThreads(2, TIMEOUT, rank -> dpo(rank, 1, pairs));
        for (int s = 0; s < single.steps().size(); s++) {
            Map<String, Double> expected = single.steps().get(s).extra();
            Map<String, Double> actual = ranks.get(1).steps().get(s).extra();
            assertEquals(expected.keySet(), actual.keySet());
            for (String name : expected.keySet()) {
                assertEquals(expected.get(name), actual.get(name), 1e-6, "step " + s + " " + name);
            }
        }
        assertLossesClose(single.result().lossHistory(), ranks.getFirst().result().lossHistory(), 1e-6);
    }

    @Test
    void eachRankEvaluatesItsBlockAndTheGatheredEvaluationIsTheSingleOne() {
        // 21 held-out rows in batches of 4: 6 batches, 3 per rank; macro F1 needs every prediction, in order
        Rank single = classify(Collective.single(), 2);
        List<Rank> ranks = LocalCollective.runOnThreads(2, TIMEOUT, rank -> classify(rank, 1));
        List<EvalMetrics> expected = single.result().evalHistory();
        assertEquals(3, expected.size());
        for (Rank rank : ranks) {
            List<EvalMetrics> actual = rank.result().evalHistory();
            assertEquals(expected.size(), actual.size());
            for (int e = 0; e < expected.size(); e++) {
                assertEquals(expected.get(e).loss(), actual.get(e).loss(), 1e-12 * expected.get(e).loss());
                assertEquals(expected.get(e).extra().keySet(), actual.get(e).extra().keySet());
                assertEquals(expected.get(e).extra().get("f1_macro"), actual.get(e).extra().get("f1_macro"));
                assertEquals(expected.get(e).extra().get("accuracy"), actual.get(e).extra().get("accuracy"));
            }
        }
        assertTrue(expected.getLast().extra().get("f1_macro") > 0, expected.getLast().toString());
    }

    @Test
    void ranksWithOtherDataFailTogetherNamingTheDifference() {
        CollectiveException e = assertThrows(CollectiveException.class, () -> LocalCollective.runOnThreads(2, TIMEOUT,
                rank -> train(rank, config(1).build(), rank.rank() == 0 ? TrainingChild.data() : shuffledData(), null)));
        // each rank fails: rank 1 naming the difference, rank 0 saying that another rank differs
        List<Throwable> failures = new ArrayList<>(List.of(e.getCause()));
        failures.addAll(List.of(e.getSuppressed()));
        assertEquals(2, failures.size());
        for (Throwable f : failures) {
            assertInstanceOf(IllegalArgumentException.class, f);
        }
        assertTrue(failures.stream().anyMatch(f -> f.getMessage().startsWith("rank 1 of 2 cannot train with rank 0: "
                + "the training examples' tokens differ from rank 0's. ")), failures.toString());
        assertTrue(failures.stream().anyMatch(f -> f.getMessage().startsWith("1 other rank(s) of 2 train with other")),
                failures.toString());
    }

    @Test
    void ranksWithAnotherLearningRateOrMicroBatchSizeAreRefused() {
        CollectiveException e = assertThrows(CollectiveException.class, () -> LocalCollective.runOnThreads(2, TIMEOUT,
                rank -> train(rank, config(1).learningRate(rank.rank() == 0 ? 5e-3 : 1e-3).microBatchSize(3 + rank.rank())
                        .build(), TrainingChild.data(), null)));
        List<String> messages = new ArrayList<>(List.of(e.getCause().getMessage()));
        List.of(e.getSuppressed()).forEach(s -> messages.add(s.getMessage()));
        assertTrue(messages.stream().anyMatch(m -> m.equals("rank 1 of 2 cannot train with rank 0: microBatchSize is 4 "
                + "here and 3 on rank 0, the optimization settings (learning rate and schedule, steps, AdamW, clipping, "
                + "precision) differ from rank 0's. Every rank must build its trainer from the same model, adapter "
                + "settings, data and TrainingConfig")), messages.toString());
    }

    @Test
    void replicasThatPartFailEveryRankAtTheEnd() {
        // rank 1 changes one weight after its first step, as a rank computing on other hardware might
        CollectiveException e = assertThrows(CollectiveException.class, () -> LocalCollective.runOnThreads(2, TIMEOUT,
                rank -> train(rank, config(1).build(), TrainingChild.data(), (m, model) -> {
                    if (rank.rank() == 1 && m.step() == 1) {
                        Tensor first = model.trainableParameters().values().iterator().next();
                        first.setFlat(0, first.getFlat(0) + 1e-3f);
                    }
                })));
        List<String> messages = new ArrayList<>(List.of(e.getCause().getMessage()));
        List.of(e.getSuppressed()).forEach(s -> messages.add(s.getMessage()));
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertTrue(messages.stream().anyMatch(m -> m.startsWith("rank 1 of 2 parted from rank 0 after step 3: its "
                + "trainable weights differ from rank 0's. The ranks computed different updates")), messages.toString());
        assertTrue(messages.stream().anyMatch(m -> m.startsWith("1 other rank(s) of 2 parted from rank 0 after step 3")),
                messages.toString());
    }

    @Test
    void aFailingRankMakesTheOthersFailInsteadOfWaiting() {
        IllegalStateException boom = new IllegalStateException("listener failed on purpose");
        CollectiveException e = assertThrows(CollectiveException.class, () -> LocalCollective.runOnThreads(2, TIMEOUT,
                rank -> train(rank, config(1).build(), TrainingChild.data(), (m, model) -> {
                    if (rank.rank() == 1 && m.step() == 2) {
                        throw boom;
                    }
                })));
        assertEquals(boom, e.getCause(), "the original failure, not the one it caused on rank 0");
        assertEquals(1, e.getSuppressed().length);
        assertInstanceOf(CollectiveException.class, e.getSuppressed()[0]);
        assertTrue(e.getSuppressed()[0].getMessage().contains("rank 1 left the group"), e.getSuppressed()[0].getMessage());
    }

    @Test
    void anInterruptedRankStopsEveryRankAfterTheSameStepAndTheCheckpointResumes(@TempDir Path tmp) {
        Path out = tmp.resolve("run");
        List<Rank> interrupted = LocalCollective.runOnThreads(2, TIMEOUT,
                rank -> train(rank, config(1).saveEverySteps(4).outputDir(out).build(), TrainingChild.data(), (m, model) -> {
                    if (rank.rank() == 1 && m.step() == 2) {
                        Thread.currentThread().interrupt();
                    }
                }));
        for (Rank rank : interrupted) {
            assertEquals(StopReason.INTERRUPTED, rank.result().stopReason());
            assertEquals(3, rank.result().steps(), "the step in which rank 1 saw its interrupt ends the run");
            assertEquals(out.resolve("checkpoint-3"), rank.result().lastCheckpoint());
        }
        Path checkpoint = interrupted.getFirst().result().lastCheckpoint();
        List<Rank> whole = LocalCollective.runOnThreads(2, TIMEOUT,
                rank -> train(rank, config(1).build(), TrainingChild.data(), null));
        List<Rank> resumed = LocalCollective.runOnThreads(2, TIMEOUT,
                rank -> resume(rank, config(1).saveEverySteps(4).outputDir(out).build(), checkpoint));
        assertEquals(whole.getFirst().result().lossHistory(), resumed.getFirst().result().lossHistory());
        whole.getFirst().weights().forEach((name, w) -> assertArrayEquals(w, resumed.get(1).weights().get(name), name));

        IllegalArgumentException alone = assertThrows(IllegalArgumentException.class,
                () -> resume(Collective.single(), config(1).saveEverySteps(4).outputDir(out).build(), checkpoint));
        assertTrue(alone.getMessage().contains("the data-parallel world size was 2 and is now 1"), alone.getMessage());
    }

    @Test
    void grpoRanksSampleTheirOwnPromptsAndFormTheAdvantagesOverTheWholeStep() {
        // dapo divides by the step's loss tokens and batch scaling by the step's reward std: both span the ranks
        assertGrpoRanksEqualOneRank(GrpoConfig.builder().numGenerations(3).maxCompletionLength(5).beta(0.05)
                .scaleRewards(GrpoConfig.ScaleRewards.BATCH).build());
    }

    @Test
    void grpoRanksReuseTheirOwnRolloutsOverTheIterationsAndEqualOneRank() {
        // steps 1 and 3 generate, step 2 reuses each rank's rollouts and old log-probabilities; epsilon small enough
        // that the ratio of the reused step leaves the clipping range
        Rank single = assertGrpoRanksEqualOneRank(GrpoConfig.builder().numGenerations(3).maxCompletionLength(5)
                .beta(0.05).epsilon(0.01).scaleRewards(GrpoConfig.ScaleRewards.BATCH).numIterations(2).build());
        Map<String, Double> reused = single.steps().get(1).extra();
        assertTrue(!reused.containsKey("reward") && single.steps().get(2).extra().containsKey("reward"), reused.toString());
        assertTrue(reused.get("clip_ratio/region_mean") > 0, "the reused step's ratio is clipped: " + reused);
    }

    @Test
    void grpoRanksEvaluateTheirBlockOfHeldOutPromptsAndReportWhatOneRankDoes() {
        // three held-out prompts in batches of two: rank 0 samples the first batch, rank 1 the second; batch scaling
        // and dapo's token count span both
        GrpoConfig grpo = GrpoConfig.builder().numGenerations(3).maxCompletionLength(5).beta(0.05)
                .scaleRewards(GrpoConfig.ScaleRewards.BATCH).build();
        Rank single = grpo(Collective.single(), 2, grpo, true);
        List<Rank> ranks = LocalCollective.runOnThreads(2, TIMEOUT, rank -> grpo(rank, 1, grpo, true));
        List<EvalMetrics> expected = single.result().evalHistory();
        assertEquals(List.of(2), expected.stream().map(EvalMetrics::step).toList());
        for (Rank rank : ranks) {
            List<EvalMetrics> actual = rank.result().evalHistory();
            assertEquals(expected.size(), actual.size());
            for (int e = 0; e < expected.size(); e++) {
                assertEquals(expected.get(e).loss(), actual.get(e).loss(), 1e-6 * (1 + Math.abs(expected.get(e).loss())),
                        "eval " + e + " loss");
                assertEquals(expected.get(e).improved(), actual.get(e).improved());
                Map<String, Double> want = expected.get(e).extra();
                assertTrue(want.containsKey("reward") && want.containsKey("kl"), want.keySet().toString());
                assertEquals(want.keySet(), actual.get(e).extra().keySet());
                for (String name : want.keySet()) {
                    assertEquals(want.get(name), actual.get(e).extra().get(name), 1e-6 * (1 + Math.abs(want.get(name))),
                            "eval " + e + " " + name);
                }
            }
        }
    }

    /** Two ranks with accumulation 1 train and report what one rank with accumulation 2 does, which is returned. */
    private static Rank assertGrpoRanksEqualOneRank(GrpoConfig grpo) {
        Rank single = grpo(Collective.single(), 2, grpo, false);
        List<Rank> ranks = LocalCollective.runOnThreads(2, TIMEOUT, rank -> grpo(rank, 1, grpo, false));
        for (Rank rank : ranks) {
            single.weights().forEach((name, w) -> assertArrayEquals(w, rank.weights().get(name), name));
            assertLossesClose(single.result().lossHistory(), rank.result().lossHistory(), 1e-6);
            for (int s = 0; s < single.steps().size(); s++) {
                Map<String, Double> expected = single.steps().get(s).extra();
                Map<String, Double> actual = rank.steps().get(s).extra();
                assertEquals(expected.keySet(), actual.keySet());
                for (String name : expected.keySet()) {
                    assertEquals(expected.get(name), actual.get(name), 1e-6 * (1 + Math.abs(expected.get(name))),
                            "step " + s + " " + name);
                }
            }
        }
        return single;
    }

    /** 6 steps of 16 examples in micro-batches of 3, accumulating {@code accumulation}. */
    private static TrainingConfig.Builder config(int accumulation) {
        return TrainingConfig.builder().epochs(1).microBatchSize(3).gradientAccumulationSteps(accumulation)
                .learningRate(5e-3).weightDecay(0.01).schedule(Schedule.LINEAR).warmupSteps(1).maxGradNorm(1.0)
                .shuffle(true).seed(7).logEverySteps(0);
    }

    private static Rank train(Collective rank, TrainingConfig cfg, TokenizedDataset data,
                              BiConsumer<StepMetrics, PeftModel> onStep) {
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = TrainTestSupport.llamaAdapter(base);
            List<StepMetrics> steps = new ArrayList<>();
            TrainResult result = SftTrainer.builder().model(model).config(cfg).trainData(data).collective(rank)
                    .listener(recorder(steps, onStep == null ? null : m -> onStep.accept(m, model))).build().train();
            return new Rank(result, TrainTestSupport.weights(model), steps);
        }
    }

    private static Rank resume(Collective rank, TrainingConfig cfg, Path checkpoint) {
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = TrainTestSupport.llamaAdapter(base);
            TrainResult result = SftTrainer.builder().model(model).config(cfg).trainData(TrainingChild.data())
                    .collective(rank).build().resume(checkpoint);
            return new Rank(result, TrainTestSupport.weights(model), List.of());
        }
    }

    private static Rank dpo(Collective rank, int accumulation, PreferenceDataset pairs) {
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = TrainTestSupport.llamaAdapter(base);
            List<StepMetrics> steps = new ArrayList<>();
            TrainingConfig cfg = TrainingConfig.builder().epochs(1).microBatchSize(2)
                    .gradientAccumulationSteps(accumulation).learningRate(5e-3).schedule(Schedule.CONSTANT)
                    .shuffle(true).seed(3).logEverySteps(0).build();
            TrainResult result = DpoTrainer.builder().model(model).config(cfg).dpo(DpoConfig.sigmoid(0.1))
                    .trainData(pairs).collective(rank).listener(recorder(steps, null)).build().train();
            return new Rank(result, TrainTestSupport.weights(model), steps);
        }
    }

    /** Six classification steps with an evaluation every two, over ClassificationTrainerTest's separable rows. */
    private static Rank classify(Collective rank, int accumulation) {
        try (var base = ClassificationTrainerTest.tinyQwen(List.of("a", "b", "c"))) {
            PeftClassifier clf = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj")
                    .loraDropout(0).build());
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(6).microBatchSize(4)
                    .gradientAccumulationSteps(accumulation).learningRate(1e-2).seed(3).evalEverySteps(2)
                    .logEverySteps(0).build();
            TrainResult result = ClassificationTrainer.builder().model(clf).config(cfg)
                    .trainData(ClassificationTrainerTest.separable(24, 1))
                    .evalData(ClassificationTrainerTest.separable(21, 2)).collective(rank).build().train();
            return new Rank(result, Map.of(), List.of());
        }
    }

    /**
     * Three GRPO steps over GrpoTrainerTest's four prompts, two per micro-batch; with {@code evaluate} an evaluation of
     * three held-out prompts after step 2.
     */
    private static Rank grpo(Collective rank, int accumulation, GrpoConfig grpo, boolean evaluate) {
        try (LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            PeftModel model = Peft.wrap(base, GrpoTrainerTest.lora());
            List<StepMetrics> steps = new ArrayList<>();
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(3).microBatchSize(2)
                    .gradientAccumulationSteps(accumulation).learningRate(1e-2).schedule(Schedule.CONSTANT).seed(5)
                    .evalEverySteps(evaluate ? 2 : 0).logEverySteps(0).build();
            GrpoTrainer.Builder b = GrpoTrainer.builder().model(model).tokenizer(GrpoTrainerTest.TOKENIZER).config(cfg)
                    .grpo(grpo).reward(GrpoTrainerTest.LOWERCASE).trainData(GrpoTrainerTest.PROMPTS).collective(rank)
                    .listener(recorder(steps, null));
            if (evaluate) {
                b.evalData(GrpoDataset.fromTexts(List.of("Why ", "Go: ", "No."), GrpoTrainerTest.TOKENIZER));
            }
            TrainResult result = b.build().train();
            return new Rank(result, TrainTestSupport.weights(model), steps);
        }
    }

    private static TrainingListener recorder(List<StepMetrics> steps, Consumer<StepMetrics> onStep) {
        return new TrainingListener() {
            @Override
            public void onStep(StepMetrics m) {
                steps.add(m);
                if (onStep != null) {
                    onStep.accept(m);
                }
            }
        };
    }

    /** TrainingChild's examples in another order: as many, other tokens per index. */
    private static TokenizedDataset shuffledData() {
        TokenizedDataset data = TrainingChild.data();
        long[][] ids = new long[data.size()][];
        long[][] labels = new long[data.size()][];
        for (int i = 0; i < data.size(); i++) {
            TokenizedExample e = data.get(data.size() - 1 - i);
            ids[i] = e.inputIds();
            labels[i] = e.labels();
        }
        return TokenizedDataset.of(ids, labels);
    }

    private static void assertLossesClose(List<Double> expected, List<Double> actual, double tolerance) {
        assertEquals(expected.size(), actual.size());
        for (int s = 0; s < expected.size(); s++) {
            assertEquals(expected.get(s), actual.get(s), tolerance * Math.abs(expected.get(s)), "loss of step " + s);
        }
    }
}
