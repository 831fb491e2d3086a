package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GuardsAndCheckpointsTest {

    @Test
    void nonFiniteStepsAreSkippedThenTrainingStops() {
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"))) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_init"));
            Tensor a = model.trainableParameters().values().iterator().next();
            a.setFlat(0, Float.NaN);
            Tensor other = List.copyOf(model.trainableParameters().values()).get(2);
            float[] untouched = other.toFloatArray();
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(10).microBatchSize(4).maxNonFiniteSteps(2).logEverySteps(0).build();
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () ->
                    SftTrainer.builder().model(model).config(cfg).trainData(TrainingChild.data()).build().train());
            assertEquals(3, e.step());
            assertTrue(e.getMessage().contains("learningRate"), e.getMessage());
            assertArrayEquals(untouched, other.toFloatArray(), "skipped steps change nothing");
        }
    }

    @Test
    void earlyStoppingKeepsTheBestAndTheLastCheckpoints(@TempDir Path out) {
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"))) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_init"));
            // A threshold no step can beat: the first evaluation is the best, the second triggers the stop.
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(50).microBatchSize(4).learningRate(1e-3)
                    .evalEverySteps(2).earlyStopping(1, 100.0).saveEverySteps(1).keepLastCheckpoints(2)
                    .outputDir(out).logEverySteps(0).build();
            TrainResult r = SftTrainer.builder().model(model).config(cfg).trainData(TrainingChild.data())
                    .evalData(TrainingChild.data()).build().train();
            assertEquals(StopReason.EARLY_STOPPING, r.stopReason());
            assertEquals(4, r.steps());
            assertEquals(2, r.evalHistory().size());
            assertEquals(Math.exp(r.evalHistory().getFirst().loss()), r.evalHistory().getFirst().perplexity(), 1e-9);
            assertEquals(out.resolve("checkpoint-2"), r.bestCheckpoint());
            assertEquals(List.of(out.resolve("checkpoint-2"), out.resolve("checkpoint-3"), out.resolve("checkpoint-4")),
                    Checkpoints.list(out));
            assertTrue(r.summary().contains("EARLY_STOPPING"), r.summary());
            assertEquals(model.trainableParameters().keySet(), TrainTestSupport.adapterWeights(out.resolve("checkpoint-4")
                    .resolve(Checkpoints.ADAPTER)).keySet(), "PEFT names in the adapter");
        }
    }

    @Test
    void theBestEvaluationIsSavedBetweenRegularCheckpoints(@TempDir Path out) {
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"))) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_init"));
            // a threshold no step can beat: step 1's evaluation stays the best; regular checkpoints at 3 and 4 (the end)
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(4).microBatchSize(4).learningRate(1e-3)
                    .evalEverySteps(1).earlyStopping(0, 100.0).saveEverySteps(3).outputDir(out).logEverySteps(0).build();
            TrainResult r = SftTrainer.builder().model(model).config(cfg).trainData(TrainingChild.data())
                    .evalData(TrainingChild.data()).build().train();
            assertEquals(1, r.evalHistory().stream().filter(EvalMetrics::improved).count());
            assertEquals(out.resolve("checkpoint-1"), r.bestCheckpoint());
            assertEquals(List.of(out.resolve("checkpoint-1"), out.resolve("checkpoint-3"), out.resolve("checkpoint-4")),
                    Checkpoints.list(out));
        }
    }
}
