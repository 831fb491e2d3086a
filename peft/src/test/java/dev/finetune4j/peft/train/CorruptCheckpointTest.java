package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A resume trusts a checkpoint only as far as it is consistent: a negative or too large step, and NaN optimizer
 * moments are refused with the file named, before the model changes; an update that makes a weight non-finite stops
 * training instead of spreading NaN.
 */
class CorruptCheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aNegativeStepIsRefusedNamingTheFile(@TempDir Path out) throws IOException {
        Path checkpoint = checkpoint(out);
        editState(checkpoint, s -> s.put("step", -5));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> resume(checkpoint));
        assertTrue(e.getMessage().contains(TrainerState.FILE) && e.getMessage().contains("step -5"), e.getMessage());
    }

    @Test
    void aStepBeyondTheRunIsRefused(@TempDir Path out) throws IOException {
        Path checkpoint = checkpoint(out);
        editState(checkpoint, s -> s.put("step", 1_000_000));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> resume(checkpoint));
        assertTrue(e.getMessage().contains("step 1000000 is outside [0, 4]"), e.getMessage());
    }

    @Test
    void aFractionalStepIsRefused(@TempDir Path out) throws IOException {
        Path checkpoint = checkpoint(out);
        editState(checkpoint, s -> s.put("step", 2.5));
        assertThrows(RuntimeException.class, () -> resume(checkpoint));
    }

    @Test
    void nanOptimizerMomentsAreRefusedNamingTheTensor(@TempDir Path out) throws IOException {
        Path checkpoint = checkpoint(out);
        Path file = checkpoint.resolve(Checkpoints.OPTIMIZER);
        Map<String, float[]> slots = new LinkedHashMap<>();
        Map<String, String> meta;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.names()) {
                slots.put(name, f.tensor(name).toFloatArray());
            }
            meta = f.metadata();
        }
        String first = slots.keySet().stream().filter(n -> n.endsWith(".exp_avg")).findFirst().orElseThrow();
        slots.get(first)[3] = Float.NaN;
        try (TensorScope scope = TensorScope.detached()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            slots.forEach((n, v) -> tensors.put(n, Tensor.of(scope, v, v.length)));
            SafetensorsWriter.write(file, tensors, meta);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> resume(checkpoint));
        assertTrue(e.getMessage().contains(Checkpoints.OPTIMIZER) && e.getMessage().contains(first)
                && e.getMessage().contains("NaN"), e.getMessage());
    }

    /**
     * With 4 steps the guard's norms are read with step 2's loss; with 1 step no later step reads them, and the end
     * of training checks them.
     */
    @ParameterizedTest(name = "maxSteps {0}")
    @ValueSource(ints = {4, 1})
    void anUpdateThatMakesAWeightNonFiniteStopsTraining(int maxSteps) {
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"))) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_init"));
            // beyond float range: the first update overflows every weight it touches to infinity
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(maxSteps).microBatchSize(4).learningRate(1e39)
                    .schedule(Schedule.CONSTANT).logEverySteps(0).build();
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () ->
                    SftTrainer.builder().model(model).config(cfg).trainData(TrainingChild.data()).build().train());
            assertTrue(e.getMessage().contains("made parameter") && e.step() == 1, e.getMessage());
        }
    }

    /** Trains 2 of 4 steps, saving each; returns checkpoint-2. */
    private static Path checkpoint(Path out) {
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"))) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_init"));
            SftTrainer.builder().model(model).config(config(out, 2)).trainData(TrainingChild.data()).build().train();
        }
        return out.resolve("checkpoint-2");
    }

    private static void resume(Path checkpoint) {
        try (LanguageModel base = AutoModel.loadCausalLM(TrainTestSupport.resource("llama/base"))) {
            PeftModel model = Peft.loadTrainable(base, TrainTestSupport.resource("llama/adapter_init"));
            SftTrainer.builder().model(model).config(config(checkpoint.getParent(), 4)).trainData(TrainingChild.data())
                    .build().resume(checkpoint);
        }
    }

    private static TrainingConfig config(Path out, int steps) {
        return TrainingConfig.builder().maxSteps(steps).microBatchSize(4).learningRate(1e-3).saveEverySteps(1)
                .outputDir(out).logEverySteps(0).build();
    }

    private static void editState(Path checkpoint, Consumer<ObjectNode> edit) throws IOException {
        Path file = checkpoint.resolve(TrainerState.FILE);
        ObjectNode state = (ObjectNode) JSON.readTree(file.toFile());
        edit.accept(state);
        JSON.writeValue(file.toFile(), state);
    }
}
