package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Examples without a label token (a prompt that fills maxLength leaves none): a step made only of such examples is
 * skipped without counting as divergence, and data where no example has one is refused when the trainer is built.
 */
class UnlabelledDataTest {

    /**
     * Every even example unlabelled, one example per step, no shuffling: steps 1, 3, 5 ... (1-based) read an
     * unlabelled example. Not even one non-finite step is allowed, and none happens.
     */
    @Test
    void stepsWithoutALabelTokenAreSkippedWithoutCountingAsDivergence(@TempDir Path out) {
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(8).microBatchSize(1).shuffle(false).learningRate(1e-3)
                .maxNonFiniteSteps(0).saveEverySteps(3).outputDir(out).logEverySteps(0).build();
        TrainResult whole;
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            whole = train(TrainTestSupport.llamaAdapter(base), cfg).train();
        }
        assertEquals(8, whole.steps());
        assertEquals(4, whole.skippedSteps());
        for (int s = 0; s < 8; s++) {
            assertEquals(s % 2 == 0, Double.isNaN(whole.lossHistory().get(s)), "step " + (s + 1) + ": " + whole.lossHistory());
        }
        // the skipped steps' NaN losses survive a checkpoint, and the resumed run ends as the whole one
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            TrainResult resumed = train(TrainTestSupport.llamaAdapter(base), cfg).resume(out.resolve("checkpoint-3"));
            assertEquals(whole.lossHistory(), resumed.lossHistory());
            assertEquals(4, resumed.skippedSteps());
        }
    }

    @Test
    void trainingDataWithoutAnyLabelTokenIsRefusedAtBuild() {
        TokenizedDataset none = TokenizedDataset.of(new long[][]{{1, 2, 3}, {4, 5}}, new long[][]{{-100, -100, -100}, {4, -100}});
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SftTrainer.builder()
                    .model(TrainTestSupport.llamaAdapter(base)).config(TrainingConfig.builder().maxSteps(4).build())
                    .trainData(none).build());
            assertTrue(e.getMessage().contains("training data has no label token") && e.getMessage().contains("2 examples"),
                    e.getMessage());
        }
    }

    @Test
    void validationDataWithoutAnyLabelTokenIsRefusedAtBuild() {
        TokenizedDataset none = TokenizedDataset.of(new long[][]{{1, 2, 3}}, new long[][]{{-100, -100, -100}});
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SftTrainer.builder()
                    .model(TrainTestSupport.llamaAdapter(base))
                    .config(TrainingConfig.builder().maxSteps(4).evalEverySteps(2).build())
                    .trainData(TrainingChild.data()).evalData(none).build());
            assertTrue(e.getMessage().contains("validation data has no label token"), e.getMessage());
        }
    }

    /** {@link TrainingChild#data()} with every even example's labels all -100. */
    private static SftTrainer train(PeftModel model, TrainingConfig cfg) {
        TokenizedDataset data = TrainingChild.data();
        List<TokenizedExample> examples = new ArrayList<>();
        for (int i = 0; i < data.size(); i++) {
            TokenizedExample e = data.get(i);
            long[] labels = e.labels().clone();
            if (i % 2 == 0) {
                Arrays.fill(labels, CrossEntropy.IGNORE_INDEX);
            }
            examples.add(new TokenizedExample(e.inputIds(), labels, null));
        }
        return SftTrainer.builder().model(model).config(cfg).trainData(TokenizedDataset.of(examples)).build();
    }
}
