package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.opaque.OpaqueBackendProvider;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Training on a device whose memory only its backend can reach (core's test-only opaque backend): the ten LoRA
 * steps of the llama trajectory fixture, a DPO step, two ORPO and SimPO steps and two GRPO steps give the CPU's losses, gradient norms
 * and adapter weights bit for bit, so nothing in the trainers, the optimizer or LoRA bypasses the backend.
 */
class OpaqueDeviceTrainingTest {
    private static final Path DIR = TrainTestSupport.resource("llama");

    @Test
    void loraTrajectoryEqualsTheCpus() {
        Run cpu = sft(Device.cpu());
        Run opaque = sft(OpaqueBackendProvider.device());
        assertEquals(cpu.result.lossHistory(), opaque.result.lossHistory());
        assertEquals(cpu.result.gradNormHistory(), opaque.result.gradNormHistory());
        cpu.adapter.forEach((name, values) -> assertArrayEquals(values, opaque.adapter.get(name), name));
    }

    @Test
    void dpoStepEqualsTheCpus() {
        Run cpu = dpo(Device.cpu());
        Run opaque = dpo(OpaqueBackendProvider.device());
        assertEquals(cpu.result.lossHistory(), opaque.result.lossHistory());
        cpu.adapter.forEach((name, values) -> assertArrayEquals(values, opaque.adapter.get(name), name));
    }

    @ParameterizedTest
    @ValueSource(strings = {"orpo", "simpo"})
    void referenceFreeStepsEqualTheCpus(String method) {
        ReferenceFreeConfig loss = method.equals("orpo") ? OrpoConfig.defaults() : new SimpoConfig(2.5, 1.25, 0.5, 0.1);
        Run cpu = referenceFree(Device.cpu(), loss);
        Run opaque = referenceFree(OpaqueBackendProvider.device(), loss);
        assertEquals(cpu.result.lossHistory(), opaque.result.lossHistory());
        assertEquals(cpu.result.gradNormHistory(), opaque.result.gradNormHistory());
        cpu.adapter.forEach((name, values) -> assertArrayEquals(values, opaque.adapter.get(name), name));
    }

    /** GRPO samples, scores and trains on the device: two steps with the KL term give the CPU's run. */
    @Test
    void grpoStepsEqualTheCpus() {
        List<Map<String, Double>> cpuMetrics = new ArrayList<>();
        List<Map<String, Double>> opaqueMetrics = new ArrayList<>();
        Run cpu = grpo(Device.cpu(), cpuMetrics);
        Run opaque = grpo(OpaqueBackendProvider.device(), opaqueMetrics);
        assertEquals(cpu.result.lossHistory(), opaque.result.lossHistory());
        assertEquals(cpu.result.gradNormHistory(), opaque.result.gradNormHistory());
        assertEquals(cpuMetrics, opaqueMetrics);
        cpu.adapter.forEach((name, values) -> assertArrayEquals(values, opaque.adapter.get(name), name));
    }

    private record Run(TrainResult result, Map<String, float[]> adapter) {
    }

    private static Run grpo(Device device, List<Map<String, Double>> metrics) {
        List<PreferenceExample> pairs = TrainTestSupport.dpoPairs(TrainTestSupport.json(DIR.resolve("dpo.json")));
        GrpoDataset prompts = GrpoDataset.of(pairs.stream().map(p -> new GrpoExample(p.prompt(), "")).toList());
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(2).microBatchSize(2).learningRate(1e-3).seed(42)
                .logEverySteps(0).build();
        RewardFunction evenBytes = RewardFunction.named("even", (prompt, completion) ->
                completion.chars().filter(c -> c % 2 == 0).count());
        try (LanguageModel base = AutoModel.loadCausalLM(DIR.resolve("base"), LoadOptions.builder().device(device).build())) {
            PeftModel model = Peft.loadTrainable(base, DIR.resolve("lora"));
            TrainResult result = GrpoTrainer.builder().model(model).config(cfg).tokenizer(new ByteLevelTokenizer())
                    .grpo(GrpoConfig.builder().numGenerations(3).maxCompletionLength(5).beta(0.04).build())
                    .reward(evenBytes).trainData(prompts).listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            metrics.add(m.extra());
                        }
                    }).build().train();
            return new Run(result, values(model));
        }
    }

    private static Run sft(Device device) {
        JsonNode trajectory = TrainTestSupport.json(DIR.resolve("trajectory.json"));
        long[][] inputIds = TrainTestSupport.longs2d(DIR.resolve("batch.safetensors"), "input_ids");
        long[][] labels = TrainTestSupport.longs2d(DIR.resolve("batch.safetensors"), "labels");
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(trajectory.get("steps").asInt())
                .microBatchSize(inputIds.length).learningRate(1e-3).maxGradNorm(1.0).schedule(Schedule.CONSTANT)
                .shuffle(false).seed(42).logEverySteps(0).build();
        try (LanguageModel base = AutoModel.loadCausalLM(DIR.resolve("base"), LoadOptions.builder().device(device).build())) {
            PeftModel model = Peft.loadTrainable(base, DIR.resolve("adapter_init"));
            TrainResult result = SftTrainer.builder().model(model).config(cfg)
                    .trainData(TokenizedDataset.of(inputIds, labels)).build().train();
            return new Run(result, values(model));
        }
    }

    private static Run dpo(Device device) {
        JsonNode fixture = TrainTestSupport.json(DIR.resolve("dpo.json"));
        List<PreferenceExample> pairs = TrainTestSupport.dpoPairs(fixture);
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(1).microBatchSize(pairs.size()).learningRate(1e-3)
                .shuffle(false).seed(42).logEverySteps(0).build();
        try (LanguageModel base = AutoModel.loadCausalLM(DIR.resolve("base"), LoadOptions.builder().device(device).build())) {
            PeftModel model = Peft.loadTrainable(base, DIR.resolve("lora"));
            TrainResult result = DpoTrainer.builder().model(model).config(cfg).dpo(DpoConfig.sigmoid(0.1))
                    .trainData(PreferenceDataset.of(pairs)).build().train();
            return new Run(result, values(model));
        }
    }

    /** Two steps over the fixture's pairs in micro-batches of three (padded rows, one length per batch). */
    private static Run referenceFree(Device device, ReferenceFreeConfig loss) {
        List<PreferenceExample> pairs = TrainTestSupport.dpoPairs(TrainTestSupport.json(DIR.resolve("dpo.json")));
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(2).microBatchSize(3).learningRate(1e-3)
                .shuffle(false).seed(42).logEverySteps(0).build();
        try (LanguageModel base = AutoModel.loadCausalLM(DIR.resolve("base"), LoadOptions.builder().device(device).build())) {
            PeftModel model = Peft.loadTrainable(base, DIR.resolve("lora"));
            TrainResult result = ReferenceFreeTrainer.builder().model(model).config(cfg).loss(loss)
                    .trainData(PreferenceDataset.of(pairs)).build().train();
            return new Run(result, values(model));
        }
    }

    private static Map<String, float[]> values(PeftModel model) {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        model.trainableParameters().forEach((name, t) -> out.put(name, t.toFloatArray()));
        return out;
    }
}
