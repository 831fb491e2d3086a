package dev.finetune4j.peft.train;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DeviceCounters;
import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * No hidden host work in a training step (issue 17): LoRA SFT through the real trainer on each CUDA device of
 * {@link CudaTestDevices} (the CUDA backend with emulated kernels, and a GPU), with batches of one shape, counts the
 * host transfers and driver allocations of each step after two warm-up steps. No step may ask the driver for memory,
 * and the transfers must be exactly those listed in {@link #TRANSFERS_PER_STEP}: a new upload or read-back inside a
 * step fails this test.
 */
class SteadyStateHostWorkOnCudaTest {
    private static final int STEPS = 6;
    private static final int WARM_UP = 2;
    /**
     * The transfers of one step: (1) the batch's token ids (EmbeddingLookup), (2) its labels as targets
     * (CrossEntropy.tokenLogProbs; the rows have one length, so there is no padding mask to upload), (3) one read-back
     * after the update (TrainingLoop.runStep): the loss and metrics, the update gate that decided clipping and the
     * skip on the device, and the updated parameters' norms as the finite-weight guard. The rotary cos/sin table does
     * not travel: the model keeps a table of consecutive positions on the device (RotaryFrequencies.cachingTablesIn).
     */
    private static final long TRANSFERS_PER_STEP = 3;

    @ParameterizedTest
    @MethodSource(CudaTestDevices.NAMES)
    void steadyStateLoraStepsMakeNoAllocationsAndOnlyTheBatchAndLossTransfers(String name) {
        Device device = CudaTestDevices.require(name);
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(STEPS).microBatchSize(2).learningRate(1e-2)
                .maxGradNorm(1.0).schedule(Schedule.COSINE).warmupSteps(2).shuffle(false).seed(1).logEverySteps(0)
                .build();
        List<DeviceCounters> afterStep = new ArrayList<>();
        try (LanguageModel base = TrainTestSupport.tinyLlama(64, 32, 32, device)) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8)
                    .targetModules("q_proj", "v_proj", "down_proj").loraDropout(0).build());
            SftTrainer.builder().model(model).config(cfg).trainData(sameLengthRows())
                    .listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics metrics) {
                            afterStep.add(device.counters());
                        }
                    }).build().train();
        }
        assertEquals(STEPS, afterStep.size());
        for (int step = WARM_UP; step < STEPS; step++) {
            DeviceCounters one = afterStep.get(step).since(afterStep.get(step - 1));
            assertEquals(0, one.driverAllocations(), "driver allocations in steady-state step " + (step + 1));
            assertEquals(TRANSFERS_PER_STEP, one.hostTransfers(), "host transfers in steady-state step " + (step + 1));
        }
    }

    /** Six rows of ten tokens, the first three of each masked out of the loss: every batch has one shape. */
    private static TokenizedDataset sameLengthRows() {
        SplittableRandom random = new SplittableRandom(3);
        List<TokenizedExample> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            long[] ids = random.longs(10, 1, 64).toArray();
            long[] labels = ids.clone();
            Arrays.fill(labels, 0, 3, -100);
            rows.add(new TokenizedExample(ids, labels, null));
        }
        return TokenizedDataset.of(rows);
    }
}
