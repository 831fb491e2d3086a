package dev.finetune4j.peft.train;

import dev.finetune4j.core.backend.opaque.OpaqueBackend;
import dev.finetune4j.core.backend.opaque.OpaqueBackendProvider;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KTO training raises the desirable completions over the policy it started from (an SFT adapter, not the base) and
 * lowers the undesirable ones; the KL pairs follow TRL's rule; a micro-batch of one row and a data set of one row are
 * refused; a resumed run ends as the uninterrupted one; a micro-batch reads nothing back.
 */
class KtoTrainerTest {

    /** TRL's rotation within chunks of the micro-batch size; a lone last row joins the chunk before it. */
    @Test
    void klPartnersRotateWithinChunksOfTheMicroBatch() {
        assertArrayEquals(new int[]{2, 0, 1, 5, 3, 4}, KtoObjective.klPartners(6, 3));
        assertArrayEquals(new int[]{2, 0, 1, 6, 3, 4, 5}, KtoObjective.klPartners(7, 3));
        assertArrayEquals(new int[]{1, 0, 4, 2, 3}, KtoObjective.klPartners(5, 2));
        assertArrayEquals(new int[]{1, 0}, KtoObjective.klPartners(2, 8));
        assertArrayEquals(new int[]{3, 0, 1, 2, 7, 4, 5, 6}, KtoObjective.klPartners(8, 4));
    }

    @Test
    void aMicroBatchOrADataSetOfOneRowIsRefused() {
        IllegalArgumentException rows = assertThrows(IllegalArgumentException.class,
                () -> KtoDataset.of(List.of(new KtoExample(new long[]{1}, new long[]{2}, true))));
        assertTrue(rows.getMessage().contains("at least 2 rows, got 1"), rows.getMessage());
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = TrainTestSupport.llamaAdapter(base);
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(1).microBatchSize(1).gradientAccumulationSteps(4)
                    .logEverySteps(0).build();
            IllegalArgumentException batch = assertThrows(IllegalArgumentException.class,
                    () -> KtoTrainer.builder().model(model).config(cfg).trainData(toyRows(4)).build());
            assertTrue(batch.getMessage().startsWith("KTO needs a micro-batch of at least 2 rows, got microBatchSize 1"),
                    batch.getMessage());
            assertTrue(batch.getMessage().endsWith("set microBatchSize >= 2"), batch.getMessage());
        }
    }

    @Test
    void trainingRaisesDesirableAndLowersUndesirableCompletions() {
        KtoDataset data = toyRows(8);
        MetricsRecorder recorded = new MetricsRecorder();
        KtoConfig kto = KtoConfig.defaults().withWeights(1.0, 1.5);
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"))) {
            // a trained adapter (the fixture's SFT result): the reference is it, not the base model
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_final"));
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(30).microBatchSize(4).gradientAccumulationSteps(2).learningRate(5e-3)
                    .schedule(Schedule.CONSTANT).shuffle(true).seed(3).logEverySteps(10).evalEverySteps(30).build();
            KtoTrainer.builder().model(model).config(cfg).kto(kto).trainData(data).evalData(toyRows(8))
                    .listener(recorded).build().train();
            StepMetrics first = recorded.steps.getFirst();
            StepMetrics last = recorded.steps.getLast();
            System.out.printf("KTO first step %s loss %.4f; last step %s loss %.4f%n", first.extra(), first.loss(),
                    last.extra(), last.loss());
            // the first step's forward runs before any update: policy = reference, every reward and the KL are 0,
            // and each row costs half its weight
            for (String name : List.of("rewards/chosen", "rewards/rejected", "kl")) {
                assertEquals(0, first.extra().get(name), 1e-5, "first-step " + name);
            }
            // each step is one epoch of two micro-batches: 4 desirable rows of weight 1, 4 undesirable of weight 1.5
            assertEquals((4 * 1.0 + 4 * 1.5) / 2 / 8, first.loss(), 1e-5);
            assertTrue(last.extra().get("rewards/chosen") > 0.05, "desirable rows rise: " + last.extra());
            assertTrue(last.extra().get("rewards/rejected") < -0.05, "undesirable rows fall: " + last.extra());
            assertTrue(last.loss() < first.loss() - 0.05, "loss " + first.loss() + " -> " + last.loss());
            assertEquals(last.extra().keySet(), recorded.evaluations.getLast().extra().keySet(), "evaluation reports the same metrics");
            assertTrue(recorded.evaluations.getLast().extra().get("rewards/margins") > 0.1, "validation margin " + recorded.evaluations.getLast().extra());
        }
    }

    /**
     * Four steps in one run equal two, and a resume from their checkpoint by a trainer built on the starting adapter
     * (so that its reference is the run's): the KL pairs and the reference are rebuilt exactly.
     */
    @Test
    void aResumedRunEndsAsTheUninterruptedOne(@TempDir Path tmp) {
        KtoDataset data = toyRows(6);
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(4).microBatchSize(2).learningRate(5e-3).shuffle(true)
                .seed(5).saveEverySteps(2).outputDir(tmp.resolve("full")).logEverySteps(0).build();
        Map<String, float[]> expected;
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/lora"));
            KtoTrainer.builder().model(model).config(cfg).trainData(data).build().train();
            expected = TrainTestSupport.weights(model);
        }
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/lora"));
            TrainResult r = KtoTrainer.builder().model(model).config(cfg.toBuilder().outputDir(tmp.resolve("resumed")).build())
                    .trainData(data).build().resume(tmp.resolve("full").resolve(Checkpoints.PREFIX + 2));
            assertEquals(4, r.steps());
            Map<String, float[]> actual = TrainTestSupport.weights(model);
            expected.forEach((name, w) -> assertArrayEquals(w, actual.get(name), name));
        }
    }

    @Test
    void aMicroBatchUploadsItsFixedValuesOnceAndReadsNothingBack() {
        OpaqueBackend backend = OpaqueBackendProvider.backend();
        KtoDataset data = toyRows(5);
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"),
                LoadOptions.builder().device(OpaqueBackendProvider.device()).build())) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/lora"));
            KtoObjective objective = new KtoObjective(model, data, KtoConfig.defaults(), 0, 4);
            int[] batch = {0, 1, 2};
            List<TokenizedExample> rows = new ArrayList<>();
            for (int i : batch) {
                rows.add(data.get(i).sequence(data.get(i).completion()));
            }
            try (var scope = TensorScope.open()) {
                SequenceLogProbs.of(model, rows, 0);
                long before = backend.hostTransfers();
                SequenceLogProbs.of(model, rows, 0);
                long forward = backend.hostTransfers() - before;
                before = backend.hostTransfers();
                objective.lossSum(batch);
                assertEquals(2 * forward + 1, backend.hostTransfers() - before, "a micro-batch's transfers are its two "
                        + "forward passes' inputs (completions, KL sequences) and one upload of its fixed values, no read");
            }
        }
    }

    /** {@code n} rows: prompts of 4 tokens, completions of 3, every other one desirable. */
    static KtoDataset toyRows(int n) {
        SplittableRandom random = new SplittableRandom(n);
        List<KtoExample> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(new KtoExample(random.longs(4, 0, 256).toArray(), random.longs(3, 0, 256).toArray(), i % 2 == 0));
        }
        return KtoDataset.of(rows);
    }
}
