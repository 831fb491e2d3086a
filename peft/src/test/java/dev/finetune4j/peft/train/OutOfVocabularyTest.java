package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Token ids and labels outside the model's vocabulary (256 words here) are refused when the trainer is built, naming
 * the example and the position, instead of when a step first reaches that example (a label past the int range used
 * to fail with a bare "integer overflow").
 */
class OutOfVocabularyTest {
    private static final TrainingConfig CFG = TrainingConfig.builder().maxSteps(1).microBatchSize(2).logEverySteps(0).build();
    private static final long[][] IDS = {{1, 2, 3}, {4, 5, 6}};

    @Test
    void sftRefusesIdsAndLabelsOutsideTheVocabulary() {
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = TrainTestSupport.llamaAdapter(base);
            assertRefused(model, TokenizedDataset.of(IDS, new long[][]{{1, 2, 3}, {4, 5, 256}}), "example 1 has label 256 at position 2");
            assertRefused(model, TokenizedDataset.of(IDS, new long[][]{{1, 2, 3}, {4, 1L << 40, 6}}),
                    "example 1 has label " + (1L << 40) + " at position 1");
            assertRefused(model, TokenizedDataset.of(IDS, new long[][]{{1, 2, -1}, {4, 5, 6}}), "example 0 has label -1 at position 2");
            assertRefused(model, TokenizedDataset.of(new long[][]{{1, 2, 3}, {4, -7, 6}}, IDS), "example 1 has token id -7 at position 1");
        }
    }

    @Test
    void dpoRefusesIdsOutsideTheVocabulary() {
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = TrainTestSupport.llamaAdapter(base);
            PreferenceDataset pairs = PreferenceDataset.of(List.of(
                    new PreferenceExample(new long[]{1, 2}, new long[]{3}, new long[]{4}),
                    new PreferenceExample(new long[]{1, 2}, new long[]{3}, new long[]{4, 300})));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DpoTrainer.builder().model(model).config(CFG).trainData(pairs).build());
            assertTrue(e.getMessage().contains("pair 1 (prompt + rejected) has token id 300 at position 3")
                    && e.getMessage().contains("[0, 256)"), e.getMessage());
        }
    }

    private static void assertRefused(PeftModel model, TokenizedDataset data, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SftTrainer.builder().model(model).config(CFG).trainData(data).build());
        assertTrue(e.getMessage().contains(expected) && e.getMessage().contains("[0, 256)"), e.getMessage());
    }
}
