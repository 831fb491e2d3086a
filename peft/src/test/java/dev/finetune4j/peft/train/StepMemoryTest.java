package dev.finetune4j.peft.train;

import dev.finetune4j.core.backend.MemoryStats;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each step reports the tensor memory of the trained parameters' device: at least the weights and AdamW's state. */
class StepMemoryTest {

    @Test
    void stepsReportAllocatedAndPeakDeviceMemory() {
        Path dir = TrainTestSupport.resource("llama");
        long[][] inputIds = TrainTestSupport.longs2d(dir.resolve("batch.safetensors"), "input_ids");
        long[][] labels = TrainTestSupport.longs2d(dir.resolve("batch.safetensors"), "labels");
        List<MemoryStats> seen = new ArrayList<>();
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(2).microBatchSize(inputIds.length).learningRate(1e-3)
                .shuffle(false).seed(1).logEverySteps(0).build();
        try (LanguageModel base = AutoModel.loadCausalLM(dir.resolve("base"))) {
            PeftModel model = Peft.loadTrainable(base, dir.resolve("adapter_init"));
            long trainableBytes = model.trainableParameters().values().stream().mapToLong(t -> 4 * t.numel()).sum();
            long weightBytes = base.stateDict().values().stream().mapToLong(t -> 4 * t.numel()).sum();
            SftTrainer.builder().model(model).config(cfg).trainData(TokenizedDataset.of(inputIds, labels))
                    .listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            seen.add(m.memory());
                        }
                    }).build().train();
            assertEquals(2, seen.size());
            for (MemoryStats m : seen) {
                // weights, the adapter, its gradients and AdamW's two moments are allocated while the step reports
                assertTrue(m.allocatedBytes() >= weightBytes + 3 * trainableBytes, m.describe());
                assertTrue(m.peakBytes() >= m.allocatedBytes(), m.describe());
            }
        }
    }
}
