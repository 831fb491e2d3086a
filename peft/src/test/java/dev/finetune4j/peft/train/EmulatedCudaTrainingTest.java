package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.cuda.EmulatedCudaProvider;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Training on {@code emucuda:0}, core's test-only CUDA device whose kernels run on the CPU under emulation (the real
 * CUDA backend: allocator, staging, launches, cuBLAS calls): the ten LoRA steps of the llama trajectory fixture
 * (in float32, and under BF16_MIXED within 1e-3 for the losses and 5e-3 for the gradient norms), two DPO steps,
 * and three SFT steps of every PEFT method of EveryMethodTrainsTest (QLoRA's NF4 included) give the CPU's losses
 * and gradient norms within 1e-5 relative.
 * Skipped without g++.
 */
class EmulatedCudaTrainingTest {
    private static final Path DIR = TrainTestSupport.resource("llama");
    private static final Device EMULATED = new Device(EmulatedCudaProvider.TYPE, 0);

    @BeforeEach
    void emulation() {
        Optional<String> why = new EmulatedCudaProvider().unavailableReason(0);
        assumeTrue(why.isEmpty(), () -> why.orElse(""));
    }

    @Test
    void loraTrajectoryFollowsTheCpus() {
        loraFollowsTheCpu(Precision.F32, 1e-5, 1e-5);
    }

    /**
     * Under BF16_MIXED the first steps agree within 1e-5 too, but a float32 difference in summation order that moves
     * a value across a bfloat16 rounding boundary becomes a bfloat16 ulp (2^-8 relative), so later steps drift
     * apart (1.4e-5 at step 4): 1e-3, well under the 1e-2 the GPU issue allows bf16 kernels. Attention on tensor
     * cores also rounds its probabilities, score gradients and dOut to bf16 as operands of its products (as
     * FlashAttention does), which moves the gradient norms by up to 1.6e-3 (the losses by 1.7e-5): 5e-3 for them.
     */
    @Test
    void bf16MixedLoraTrajectoryFollowsTheCpus() {
        loraFollowsTheCpu(Precision.BF16_MIXED, 1e-3, 5e-3);
    }

    private static void loraFollowsTheCpu(Precision precision, double lossTolerance, double gradNormTolerance) {
        JsonNode trajectory = TrainTestSupport.json(DIR.resolve("trajectory.json"));
        long[][] inputIds = TrainTestSupport.longs2d(DIR.resolve("batch.safetensors"), "input_ids");
        long[][] labels = TrainTestSupport.longs2d(DIR.resolve("batch.safetensors"), "labels");
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(trajectory.get("steps").asInt())
                .microBatchSize(inputIds.length).learningRate(1e-3).maxGradNorm(1.0).schedule(Schedule.CONSTANT)
                .shuffle(false).seed(42).logEverySteps(0).precision(precision).build();
        Run run = device -> {
            try (LanguageModel base = AutoModel.loadCausalLM(DIR.resolve("base"),
                    LoadOptions.builder().device(device).build())) {
                PeftModel model = Peft.loadTrainable(base, DIR.resolve("adapter_init"));
                return SftTrainer.builder().model(model).config(cfg).trainData(TokenizedDataset.of(inputIds, labels))
                        .build().train();
            }
        };
        TrainResult cpu = run.on(Device.cpu());
        TrainResult emulated = run.on(EMULATED);
        close(precision + " loss", cpu.lossHistory(), emulated.lossHistory(), lossTolerance);
        close(precision + " gradient norm", cpu.gradNormHistory(), emulated.gradNormHistory(), gradNormTolerance);
    }

    @Test
    void dpoStepFollowsTheCpus() {
        JsonNode fixture = TrainTestSupport.json(DIR.resolve("dpo.json"));
        List<PreferenceExample> pairs = new ArrayList<>();
        for (JsonNode e : fixture.get("examples")) {
            pairs.add(new PreferenceExample(ids(e.get("prompt")), ids(e.get("chosen")), ids(e.get("rejected"))));
        }
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(2).microBatchSize(pairs.size()).learningRate(1e-3)
                .shuffle(false).seed(42).logEverySteps(0).build();
        Run run = device -> {
            try (LanguageModel base = AutoModel.loadCausalLM(DIR.resolve("base"),
                    LoadOptions.builder().device(device).build())) {
                PeftModel model = Peft.loadTrainable(base, DIR.resolve("lora"));
                return DpoTrainer.builder().model(model).config(cfg).dpo(DpoConfig.sigmoid(0.1))
                        .trainData(PreferenceDataset.of(pairs)).build().train();
            }
        };
        TrainResult cpu = run.on(Device.cpu());
        TrainResult emulated = run.on(EMULATED);
        close("DPO loss", cpu.lossHistory(), emulated.lossHistory(), 1e-5);
        close("DPO gradient norm", cpu.gradNormHistory(), emulated.gradNormHistory(), 1e-5);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(EveryMethodTrainsTest.Method.class)
    void everyPeftMethodTrainsAsOnTheCpu(EveryMethodTrainsTest.Method method) {
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(3).microBatchSize(3).learningRate(1e-2)
                .schedule(Schedule.CONSTANT).shuffle(false).seed(1).logEverySteps(0).build();
        Run run = device -> {
            try (LanguageModel base = TrainTestSupport.tinyLlama(64, 32, 32, device)) {
                PeftModel model = method.wrap.apply(base);
                model.trainableParameters().forEach((name, t) -> assertEquals(device, t.device(), name));
                return SftTrainer.builder().model(model).config(cfg).trainData(EveryMethodTrainsTest.sftData(1))
                        .build().train();
            }
        };
        TrainResult cpu = run.on(Device.cpu());
        TrainResult emulated = run.on(EMULATED);
        close(method + " loss", cpu.lossHistory(), emulated.lossHistory(), 1e-5);
        close(method + " gradient norm", cpu.gradNormHistory(), emulated.gradNormHistory(), 1e-5);
    }

    /** One training run on a device. */
    private interface Run {
        TrainResult on(Device device);
    }

    private static void close(String what, List<? extends Number> cpu, List<? extends Number> emulated,
                              double tolerance) {
        assertEquals(cpu.size(), emulated.size(), what + " history length");
        for (int i = 0; i < cpu.size(); i++) {
            double c = cpu.get(i).doubleValue(), e = emulated.get(i).doubleValue();
            double relative = Math.abs(c - e) / Math.max(Math.abs(c), 1e-12);
            int step = i;
            assertTrue(relative <= tolerance, () -> what + " at step " + step + ": cpu " + c + ", emulated CUDA " + e);
        }
    }

    private static long[] ids(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }
}
