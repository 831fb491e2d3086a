package dev.finetune4j.peft.train;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SFT with {@code gradientCheckpointing(true)} follows the same trajectory as without (losses, gradient norms
 * and adapter weights bit for bit, LoRA dropout on), needs less peak tensor memory in a step, and leaves the
 * model without checkpointing after the run.
 */
class CheckpointedTrainingTest {

    @Test
    void aFewStepsOfSftAreIdenticalWithCheckpointingAndUseLessPeakMemory() {
        Run plain = train(false);
        Run checkpointed = train(true);
        assertEquals(plain.result.lossHistory(), checkpointed.result.lossHistory(), "loss per step");
        assertEquals(plain.result.gradNormHistory(), checkpointed.result.gradNormHistory(), "gradient norm per step");
        assertEquals(plain.weights.keySet(), checkpointed.weights.keySet());
        plain.weights.forEach((n, w) -> assertArrayEquals(w, checkpointed.weights.get(n), "adapter weight " + n));
        assertTrue(checkpointed.peak < plain.peak, "peak bytes in a step: " + checkpointed.peak + " with checkpointing, "
                + plain.peak + " without");
    }

    private record Run(TrainResult result, Map<String, float[]> weights, long peak) {
    }

    private static Run train(boolean checkpointing) {
        Path dir = TrainTestSupport.resource("llama");
        long[][] inputIds = TrainTestSupport.longs2d(dir.resolve("batch.safetensors"), "input_ids");
        long[][] labels = TrainTestSupport.longs2d(dir.resolve("batch.safetensors"), "labels");
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(4).microBatchSize(inputIds.length).learningRate(1e-2)
                .shuffle(false).seed(7).logEverySteps(0).gradientCheckpointing(checkpointing).build();
        List<Long> peaks = new ArrayList<>();
        try (LanguageModel base = AutoModel.loadCausalLM(dir.resolve("base"))) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).loraDropout(0.2)
                    .targetModules("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj").build(), 9);
            TrainResult result = SftTrainer.builder().model(model).config(cfg)
                    .trainData(TokenizedDataset.of(inputIds, labels))
                    .listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            peaks.add(m.memory().peakBytes());
                            Device.cpu().backend().resetPeak();
                        }
                    }).build().train();
            assertFalse(base.isGradientCheckpointing(), "the run turns checkpointing off when it ends");
            Map<String, float[]> weights = new LinkedHashMap<>();
            model.trainableParameters().forEach((n, t) -> weights.put(n, t.toFloatArray()));
            // the first step's peak includes AdamW's state being allocated; later steps are the steady state
            return new Run(result, weights, peaks.getLast());
        }
    }
}
