package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.LanguageModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Interrupting the training thread ({@code Future.cancel(true)}) stops the run after the step it is in, with a
 * checkpoint of that step although it is not a multiple of saveEverySteps (the interrupt would otherwise close the
 * files the checkpoint is written through); the interrupt status stays set, and a resume ends where an
 * uninterrupted run does.
 */
class InterruptTest {

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    @Test
    void anInterruptStopsAfterTheStepWithAResumableCheckpoint(@TempDir Path tmp) {
        TrainResult uninterrupted;
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            uninterrupted = SftTrainer.builder().model(TrainTestSupport.llamaAdapter(base)).config(config(tmp.resolve("whole")))
                    .trainData(TrainingChild.data()).build().train();
        }
        Path out = tmp.resolve("interrupted");
        TrainResult interrupted;
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            interrupted = SftTrainer.builder().model(TrainTestSupport.llamaAdapter(base)).config(config(out))
                    .trainData(TrainingChild.data()).listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            if (m.step() == 3) {
                                Thread.currentThread().interrupt();
                            }
                        }
                    }).build().train();
        }
        assertTrue(Thread.interrupted(), "the interrupt status stays set for the caller");
        assertEquals(StopReason.INTERRUPTED, interrupted.stopReason());
        assertEquals(3, interrupted.steps());
        assertEquals(out.resolve("checkpoint-3"), interrupted.lastCheckpoint());
        assertEquals(uninterrupted.lossHistory().subList(0, 3), interrupted.lossHistory());
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            TrainResult resumed = SftTrainer.builder().model(TrainTestSupport.llamaAdapter(base)).config(config(out))
                    .trainData(TrainingChild.data()).build().resume(interrupted.lastCheckpoint());
            assertEquals(StopReason.MAX_STEPS, resumed.stopReason());
            assertEquals(uninterrupted.lossHistory(), resumed.lossHistory(), "3 + resume + 3 = 6 in one run");
        }
    }

    /** 6 steps, a checkpoint every 4. */
    private static TrainingConfig config(Path out) {
        return TrainingConfig.builder().maxSteps(6).microBatchSize(4).learningRate(1e-3).saveEverySteps(4)
                .outputDir(out).logEverySteps(0).build();
    }
}
