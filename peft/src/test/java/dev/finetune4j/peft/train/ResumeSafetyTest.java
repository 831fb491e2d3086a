package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A resume that is refused (other batch size, other data of the same size) leaves the model as it was, a damaged
 * history is refused before any step runs, and
 * resuming a run that had stopped early trains no further (an uninterrupted run had ended there).
 */
class ResumeSafetyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aResumeRefusedForAnotherBatchSizeLeavesTheModelUntouched(@TempDir Path out) {
        TrainingConfig cfg = config(out).build();
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            train(TrainTestSupport.llamaAdapter(base), cfg);
        }
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = TrainTestSupport.llamaAdapter(base);
            Map<String, float[]> before = TrainTestSupport.weights(model);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SftTrainer.builder()
                    .model(model).config(cfg.toBuilder().microBatchSize(2).build()).trainData(TrainingChild.data())
                    .build().resume(out.resolve("checkpoint-2")));
            assertTrue(e.getMessage().contains("microBatchSize was 4 and is now 2"), e.getMessage());
            Map<String, float[]> after = TrainTestSupport.weights(model);
            before.forEach((name, w) -> assertArrayEquals(w, after.get(name), "untouched: " + name));
        }
    }

    @Test
    void aResumeOnOtherDataOfTheSameSizeIsRefused(@TempDir Path out) {
        TrainingConfig cfg = config(out).build();
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            train(TrainTestSupport.llamaAdapter(base), cfg);
        }
        List<TokenizedExample> examples = new ArrayList<>(TrainingChild.data().examples());
        TokenizedExample last = examples.getLast();
        long[] ids = last.inputIds().clone();
        ids[ids.length - 1] = (ids[ids.length - 1] + 1) % 256; // one token of sixteen examples changed
        examples.set(examples.size() - 1, new TokenizedExample(ids, last.labels(), null));
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SftTrainer.builder()
                    .model(TrainTestSupport.llamaAdapter(base)).config(cfg).trainData(TokenizedDataset.of(examples))
                    .build().resume(out.resolve("checkpoint-2")));
            assertTrue(e.getMessage().contains("tokens differ"), e.getMessage());
        }
    }

    @Test
    void aNullLossInTheHistoryIsRefusedBeforeAnyStep(@TempDir Path out) throws IOException {
        TrainingConfig cfg = config(out).build();
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            train(TrainTestSupport.llamaAdapter(base), cfg);
        }
        Path file = out.resolve("checkpoint-2").resolve(TrainerState.FILE);
        ObjectNode state = (ObjectNode) JSON.readTree(file.toFile());
        state.putArray("lossHistory").addNull().add(5.5);
        JSON.writeValue(file.toFile(), state);
        List<StepMetrics> steps = new ArrayList<>();
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SftTrainer.builder()
                    .model(TrainTestSupport.llamaAdapter(base)).config(cfg).trainData(TrainingChild.data())
                    .listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            steps.add(m);
                        }
                    }).build().resume(out.resolve("checkpoint-2")));
            assertTrue(e.getMessage().contains(TrainerState.FILE) && e.getMessage().contains("null"), e.getMessage());
        }
        assertEquals(List.of(), steps, "no step runs on a refused checkpoint");
    }

    @Test
    void resumingARunThatStoppedEarlyTrainsNoFurther(@TempDir Path out) {
        // a threshold no step can beat: step 1's evaluation is the best, step 2's triggers the stop (patience 1)
        TrainingConfig cfg = config(out).maxSteps(20).saveEverySteps(1).evalEverySteps(1).earlyStopping(1, 100.0)
                .build();
        TrainResult stopped;
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            stopped = SftTrainer.builder().model(TrainTestSupport.llamaAdapter(base)).config(cfg)
                    .trainData(TrainingChild.data()).evalData(TrainingChild.data()).build().train();
        }
        assertEquals(StopReason.EARLY_STOPPING, stopped.stopReason());
        assertEquals(2, stopped.steps());
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            TrainResult resumed = SftTrainer.builder().model(TrainTestSupport.llamaAdapter(base)).config(cfg)
                    .trainData(TrainingChild.data()).evalData(TrainingChild.data()).build().resume(stopped.lastCheckpoint());
            assertEquals(StopReason.EARLY_STOPPING, resumed.stopReason());
            assertEquals(2, resumed.steps(), "the stopped run's steps, none more");
            assertEquals(stopped.lossHistory(), resumed.lossHistory());
            assertEquals(out.resolve("checkpoint-1"), resumed.bestCheckpoint());
        }
    }

    @Test
    void aResumeWithAnotherLearningRateRunsAndItsCheckpointsRecordTheNewRate(@TempDir Path out) throws IOException {
        TrainingConfig cfg = config(out).build();
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            train(TrainTestSupport.llamaAdapter(base), cfg);
        }
        TrainerState saved = TrainerState.read(out.resolve("checkpoint-2"));
        TrainingConfig lower = cfg.toBuilder().learningRate(5e-4).build();
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = TrainTestSupport.llamaAdapter(base);
            TrainerState now = TrainerState.initial(lower, new SftObjective(model, TrainingChild.data(), 0), 4, 1);
            assertEquals(List.of("learningRate was 0.001 and is now 5.0E-4"), saved.optimizationChanges(now));
            SftTrainer.builder().model(model).config(lower).trainData(TrainingChild.data())
                    .build().resume(out.resolve("checkpoint-2"));
        }
        JsonNode resumed = JSON.readTree(out.resolve("checkpoint-4").resolve(TrainerState.FILE).toFile());
        assertEquals("5.0E-4", resumed.path("optimization").path("learningRate").asText());
        assertEquals("4", resumed.path("optimization").path("totalSteps").asText());
    }

    @Test
    void aCheckpointTensorOfAnotherShapeButAsManyValuesIsRefused(@TempDir Path out) throws IOException {
        TrainingConfig cfg = config(out).build();
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            train(TrainTestSupport.llamaAdapter(base), cfg);
        }
        Path file = out.resolve("checkpoint-2").resolve(Checkpoints.ADAPTER).resolve(Checkpoints.ADAPTER_FILE);
        Map<String, Tensor> transposed = new LinkedHashMap<>();
        String changed;
        try (SafetensorsFile f = SafetensorsFile.open(file); TensorScope scope = TensorScope.open()) {
            changed = f.names().stream().filter(n -> n.contains("lora_A")).findFirst().orElseThrow();
            for (String name : f.names()) {
                float[] values = f.tensor(name).toFloatArray();
                long[] dims = f.info(name).shape();
                transposed.put(name, name.equals(changed) ? Tensor.of(scope, values, (int) dims[1], (int) dims[0])
                        : Tensor.of(scope, values, Shape.of(dims).dims()));
            }
            SafetensorsWriter.write(file, transposed, Map.of());
        }
        try (LanguageModel base = TrainTestSupport.llamaBase()) {
            PeftModel model = TrainTestSupport.llamaAdapter(base);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SftTrainer.builder()
                    .model(model).config(cfg).trainData(TrainingChild.data()).build().resume(out.resolve("checkpoint-2")));
            assertTrue(e.getMessage().contains("'" + changed.replace(".weight", "")) && e.getMessage().contains("of shape"),
                    e.getMessage());
        }
    }

    /** 4 steps of 4 examples, a checkpoint every 2 steps. */
    private static TrainingConfig.Builder config(Path out) {
        return TrainingConfig.builder().maxSteps(4).microBatchSize(4).learningRate(1e-3).saveEverySteps(2)
                .outputDir(out).logEverySteps(0);
    }

    private static void train(PeftModel model, TrainingConfig cfg) {
        SftTrainer.builder().model(model).config(cfg).trainData(TrainingChild.data()).build().train();
    }
}
