package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where checkpoints go is checked before the first step: a folder that cannot hold them fails at once, and a new
 * run does not write into a folder holding an earlier run's checkpoints (pruning keeps the highest steps, so the
 * earlier run's would outlive the new run's, and {@link Checkpoints#latest} would name the earlier run's).
 */
class OutputDirTest {

    @Test
    void anOutputDirThatIsAFileFailsBeforeTheFirstStep(@TempDir Path tmp) throws IOException {
        Path file = Files.writeString(tmp.resolve("runs"), "not a folder");
        List<StepMetrics> steps = new ArrayList<>();
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> SftTrainer.builder()
                    .model(TrainTestSupport.llamaAdapter(base)).config(config(file, 6)).trainData(TrainingChild.data())
                    .listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            steps.add(m);
                        }
                    }).build().train());
            assertTrue(e.getMessage().contains("outputDir") && e.getMessage().contains(file.toString()), e.getMessage());
        }
        assertEquals(List.of(), steps);
    }

    @Test
    void aNewRunRefusesAFolderWithAnEarlierRunsCheckpoints(@TempDir Path out) {
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            SftTrainer.builder().model(TrainTestSupport.llamaAdapter(base)).config(config(out, 8))
                    .trainData(TrainingChild.data()).build().train();
        }
        List<Path> earlier = List.of(out.resolve("checkpoint-6"), out.resolve("checkpoint-8"));
        assertEquals(earlier, Checkpoints.list(out), "keep the last 2 of a checkpoint every 2 steps");
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            SftTrainer trainer = SftTrainer.builder().model(TrainTestSupport.llamaAdapter(base)).config(config(out, 4))
                    .trainData(TrainingChild.data()).build();
            IllegalStateException e = assertThrows(IllegalStateException.class, trainer::train);
            assertTrue(e.getMessage().contains("checkpoint-8") && e.getMessage().contains("resume"), e.getMessage());
        }
        assertEquals(earlier, Checkpoints.list(out), "the earlier run's checkpoints are untouched");
    }

    /** {@code steps} steps, a checkpoint every 2, the last 2 kept. */
    private static TrainingConfig config(Path out, int steps) {
        return TrainingConfig.builder().maxSteps(steps).microBatchSize(4).learningRate(1e-3).saveEverySteps(2)
                .keepLastCheckpoints(2).outputDir(out).logEverySteps(0).build();
    }
}
